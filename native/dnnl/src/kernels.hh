// Convolution and matmul kernels over oneDNN on plain (NCHW / OIHW / row-major) float32 buffers.
// Primitives, their reorders and the scratch buffers in oneDNN's chosen formats are cached per shape.
#pragma once
#include <dnnl.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ws {

/** 2-D convolution geometry. Dilations are ONNX's (1: none); pads are begin (top, left) and end (bottom, right). */
struct ConvGeometry {
  int64_t n, c, h, w;   // input
  int64_t o, kh, kw;    // filter [o, c / groups, kh, kw]
  int64_t sh, sw, dh, dw;
  int64_t pt, pl, pb, pr;
  int64_t groups;
  bool bias;
  int64_t outH() const { return (h + pt + pb - ((kh - 1) * dh + 1)) / sh + 1; }
  int64_t outW() const { return (w + pl + pr - ((kw - 1) * dw + 1)) / sw + 1; }
  std::string key() const;
};

/** Which primitive a call ran, announced once per new cached primitive (impl: oneDNN's implementation name). */
using PrimitiveListener = std::function<void(const std::string &kind, const std::string &impl, const std::string &shape)>;

struct Stats {
  int64_t primitives = 0;
  int64_t refPrimitives = 0;
  int64_t calls = 0;
  std::map<std::string, int64_t> implementations;
};

class Kernels {
 public:
  Kernels();
  ~Kernels();
  // Each returns nothing; outputs are written into caller-provided plain buffers.
  void convForward(const ConvGeometry &g, const float *x, const float *w, const float *b, float *y);
  void convBackwardData(const ConvGeometry &g, const float *dy, const float *w, float *dx);
  void convBackwardWeights(const ConvGeometry &g, const float *x, const float *dy, float *dw, float *db);
  /** C[m, n] = op(A) · op(B); A is [m, k] ([k, m] when transA), B is [k, n] ([n, k] when transB). */
  void matmul(int64_t m, int64_t k, int64_t n, bool transA, bool transB, const float *a, const float *b, float *c);
  const Stats &stats() const { return stats_; }
  void setListener(PrimitiveListener l) { listener_ = std::move(l); }

  struct Entry;

 private:
  Entry &entry(const std::string &key, const std::function<std::unique_ptr<Entry>()> &make);
  void run(Entry &e, const std::vector<void *> &buffers);
  void announce(const std::string &kind, const dnnl::primitive_desc_base &pd, const std::string &shape);

  dnnl::engine engine_;
  dnnl::stream stream_;
  std::map<std::string, std::unique_ptr<Entry>> cache_;
  Stats stats_;
  PrimitiveListener listener_;
};

}  // namespace ws
