// Uses cannon the way an application would: pick the device from CANNON_DEVICE, run FlashAttentionScore
// forward on a small BSND problem and check it against a plain double-precision loop.
#include <cannon/cannon.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

int main() {
  const int64_t b = 2, n = 3, s1 = 5, s2 = 9, d = 16;
  cannon::Context ctx = cannon::Context::create();
  std::mt19937 gen(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> q(b * s1 * n * d), k(b * s2 * n * d), v(b * s2 * n * d);
  for (auto* t : {&q, &k, &v})
    for (float& x : *t) x = dist(gen);

  cannon::DeviceTensor dq = cannon::allocate(ctx, {cannon::DType::kFloat32, {b, s1, n, d}});
  cannon::DeviceTensor dk = cannon::allocate(ctx, {cannon::DType::kFloat32, {b, s2, n, d}});
  cannon::DeviceTensor dv = cannon::allocate(ctx, {cannon::DType::kFloat32, {b, s2, n, d}});
  cannon::upload(ctx, dq.view(), q.data(), q.size() * sizeof(float));
  cannon::upload(ctx, dk.view(), k.data(), k.size() * sizeof(float));
  cannon::upload(ctx, dv.view(), v.data(), v.size() * sizeof(float));

  cannon::FlashAttentionScoreAttrs attrs;
  attrs.head_num = n;
  attrs.input_layout = "BSND";
  attrs.scale = 0.25;
  cannon::FlashAttentionScoreResult r;
  try {
    r = cannon::flash_attention_score(ctx, dq.view(), dk.view(), dv.view(), attrs);
  } catch (const cannon::Error& e) {
    std::fprintf(stderr, "cannon error %d: %s\n", static_cast<int>(e.status()), e.what());
    return 1;
  }
  std::vector<float> out(q.size());
  cannon::download(ctx, r.attention_out.view(), out.data(), out.size() * sizeof(float));

  double worst = 0;
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t h = 0; h < n; ++h)
      for (int64_t i = 0; i < s1; ++i) {
        std::vector<double> p(s2);
        double m = -1e300, l = 0;
        for (int64_t j = 0; j < s2; ++j) {
          double dot = 0;
          for (int64_t x = 0; x < d; ++x)
            dot += q[((bi * s1 + i) * n + h) * d + x] * k[((bi * s2 + j) * n + h) * d + x];
          p[j] = dot * attrs.scale;
          m = std::max(m, p[j]);
        }
        for (double& x : p) l += (x = std::exp(x - m));
        for (int64_t x = 0; x < d; ++x) {
          double o = 0;
          for (int64_t j = 0; j < s2; ++j) o += p[j] * v[((bi * s2 + j) * n + h) * d + x];
          worst = std::max(worst, std::abs(o / l - out[((bi * s1 + i) * n + h) * d + x]));
        }
      }
  std::printf("consumer: %s, max error %.3g\n", ctx.info().name.c_str(), worst);
  return worst < 1e-5 ? 0 : 1;
}
