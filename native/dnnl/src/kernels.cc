#include "kernels.hh"

#include <sstream>
#include <unordered_map>

namespace ws {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

std::string ConvGeometry::key() const {
  std::ostringstream s;
  s << n << 'x' << c << 'x' << h << 'x' << w << " o" << o << " k" << kh << 'x' << kw << " s" << sh << 'x' << sw << " d" << dh << 'x'
    << dw << " p" << pt << ',' << pl << ',' << pb << ',' << pr << " g" << groups << (bias ? " b" : "");
  return s.str();
}

namespace {

struct Arg {
  int id;
  bool output;
  memory user;   // the caller's plain buffer (handle set per call)
  memory inner;  // the primitive's format: the same object as user when the formats agree
  bool reorders;
  dnnl::reorder reorder;
};

Arg makeArg(const dnnl::engine &eng, int id, bool output, const memory::desc &plain, const memory::desc &chosen) {
  Arg a{id, output, memory(plain, eng, nullptr), memory(), false, dnnl::reorder()};
  if (plain == chosen) {
    a.inner = a.user;
  } else {
    a.inner = memory(chosen, eng);
    a.reorders = true;
    a.reorder = output ? dnnl::reorder(a.inner, a.user) : dnnl::reorder(a.user, a.inner);
  }
  return a;
}

memory::desc plainMd(memory::dims dims, tag t) { return memory::desc(dims, dt::f32, t); }
memory::desc anyMd(memory::dims dims) { return memory::desc(dims, dt::f32, tag::any); }

memory::dims weightDims(const ConvGeometry &g) {
  if (g.groups == 1) return {g.o, g.c, g.kh, g.kw};
  return {g.groups, g.o / g.groups, g.c / g.groups, g.kh, g.kw};
}

struct ConvDescs {
  memory::desc src, weights, bias, dst;           // plain
  memory::desc srcAny, weightsAny, dstAny;         // for oneDNN to choose
  memory::dims strides, dilates, padL, padR;
};

ConvDescs convDescs(const ConvGeometry &g) {
  ConvDescs d;
  memory::dims xd{g.n, g.c, g.h, g.w}, wd = weightDims(g), yd{g.n, g.o, g.outH(), g.outW()};
  d.src = plainMd(xd, tag::nchw);
  d.weights = plainMd(wd, g.groups == 1 ? tag::oihw : tag::goihw);
  d.bias = plainMd({g.o}, tag::x);
  d.dst = plainMd(yd, tag::nchw);
  d.srcAny = anyMd(xd);
  d.weightsAny = anyMd(wd);
  d.dstAny = anyMd(yd);
  d.strides = {g.sh, g.sw};
  d.dilates = {g.dh - 1, g.dw - 1};
  d.padL = {g.pt, g.pl};
  d.padR = {g.pb, g.pr};
  return d;
}

dnnl::convolution_forward::primitive_desc forwardPd(const dnnl::engine &eng, const ConvDescs &d, bool bias) {
  using F = dnnl::convolution_forward;
  auto desc = bias ? F::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, d.srcAny, d.weightsAny, d.bias,
                             d.dstAny, d.strides, d.dilates, d.padL, d.padR)
                   : F::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, d.srcAny, d.weightsAny, d.dstAny,
                             d.strides, d.dilates, d.padL, d.padR);
  return F::primitive_desc(desc, eng);
}

}  // namespace

struct Kernels::Entry {
  dnnl::primitive prim;
  std::vector<Arg> args;
};

Kernels::Kernels() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}
Kernels::~Kernels() = default;

Kernels::Entry &Kernels::entry(const std::string &key, const std::function<std::unique_ptr<Entry>()> &make) {
  auto it = cache_.find(key);
  if (it != cache_.end()) return *it->second;
  auto made = make();
  auto &ref = *made;
  cache_.emplace(key, std::move(made));
  return ref;
}

void Kernels::announce(const std::string &kind, const dnnl::primitive_desc_base &pd, const std::string &shape) {
  std::string impl = pd.impl_info_str();
  stats_.primitives++;
  stats_.implementations[kind + ":" + impl]++;
  if (impl.find("ref") != std::string::npos) stats_.refPrimitives++;
  if (listener_) listener_(kind, impl, shape);
}

void Kernels::run(Entry &e, const std::vector<void *> &buffers) {
  std::unordered_map<int, memory> args;
  for (size_t i = 0; i < e.args.size(); i++) {
    Arg &a = e.args[i];
    a.user.set_data_handle(buffers[i]);
    if (a.reorders && !a.output) a.reorder.execute(stream_, a.user, a.inner);
    args.emplace(a.id, a.inner);
  }
  e.prim.execute(stream_, args);
  for (auto &a : e.args)
    if (a.reorders && a.output) a.reorder.execute(stream_, a.inner, a.user);
  stream_.wait();
  stats_.calls++;
}

void Kernels::convForward(const ConvGeometry &g, const float *x, const float *w, const float *b, float *y) {
  auto &e = entry("fwd " + g.key(), [&] {
    auto d = convDescs(g);
    auto pd = forwardPd(engine_, d, g.bias);
    announce("conv_fwd", pd, g.key());
    auto made = std::make_unique<Entry>();
    made->prim = dnnl::convolution_forward(pd);
    made->args.push_back(makeArg(engine_, DNNL_ARG_SRC, false, d.src, pd.src_desc()));
    made->args.push_back(makeArg(engine_, DNNL_ARG_WEIGHTS, false, d.weights, pd.weights_desc()));
    if (g.bias) made->args.push_back(makeArg(engine_, DNNL_ARG_BIAS, false, d.bias, pd.bias_desc()));
    made->args.push_back(makeArg(engine_, DNNL_ARG_DST, true, d.dst, pd.dst_desc()));
    return made;
  });
  std::vector<void *> bufs{const_cast<float *>(x), const_cast<float *>(w)};
  if (g.bias) bufs.push_back(const_cast<float *>(b));
  bufs.push_back(y);
  run(e, bufs);
}

void Kernels::convBackwardData(const ConvGeometry &g, const float *dy, const float *w, float *dx) {
  auto &e = entry("bwd_data " + g.key(), [&] {
    auto d = convDescs(g);
    auto hint = forwardPd(engine_, d, false);
    using B = dnnl::convolution_backward_data;
    B::desc desc(dnnl::algorithm::convolution_direct, d.srcAny, d.weightsAny, d.dstAny, d.strides, d.dilates, d.padL, d.padR);
    B::primitive_desc pd(desc, engine_, hint);
    announce("conv_bwd_data", pd, g.key());
    auto made = std::make_unique<Entry>();
    made->prim = B(pd);
    made->args.push_back(makeArg(engine_, DNNL_ARG_DIFF_DST, false, d.dst, pd.diff_dst_desc()));
    made->args.push_back(makeArg(engine_, DNNL_ARG_WEIGHTS, false, d.weights, pd.weights_desc()));
    made->args.push_back(makeArg(engine_, DNNL_ARG_DIFF_SRC, true, d.src, pd.diff_src_desc()));
    return made;
  });
  run(e, {const_cast<float *>(dy), const_cast<float *>(w), dx});
}

void Kernels::convBackwardWeights(const ConvGeometry &g, const float *x, const float *dy, float *dw, float *db) {
  auto &e = entry("bwd_weights " + g.key(), [&] {
    auto d = convDescs(g);
    auto hint = forwardPd(engine_, d, g.bias);
    using B = dnnl::convolution_backward_weights;
    auto desc = g.bias ? B::desc(dnnl::algorithm::convolution_direct, d.srcAny, d.weightsAny, d.bias, d.dstAny, d.strides, d.dilates,
                                 d.padL, d.padR)
                       : B::desc(dnnl::algorithm::convolution_direct, d.srcAny, d.weightsAny, d.dstAny, d.strides, d.dilates, d.padL,
                                 d.padR);
    B::primitive_desc pd(desc, engine_, hint);
    announce("conv_bwd_weights", pd, g.key());
    auto made = std::make_unique<Entry>();
    made->prim = B(pd);
    made->args.push_back(makeArg(engine_, DNNL_ARG_SRC, false, d.src, pd.src_desc()));
    made->args.push_back(makeArg(engine_, DNNL_ARG_DIFF_DST, false, d.dst, pd.diff_dst_desc()));
    made->args.push_back(makeArg(engine_, DNNL_ARG_DIFF_WEIGHTS, true, d.weights, pd.diff_weights_desc()));
    if (g.bias) made->args.push_back(makeArg(engine_, DNNL_ARG_DIFF_BIAS, true, d.bias, pd.diff_bias_desc()));
    return made;
  });
  std::vector<void *> bufs{const_cast<float *>(x), const_cast<float *>(dy), dw};
  if (g.bias) bufs.push_back(db);
  run(e, bufs);
}

void Kernels::matmul(int64_t m, int64_t k, int64_t n, bool transA, bool transB, const float *a, const float *b, float *c) {
  std::ostringstream key;
  key << "matmul " << m << 'x' << k << 'x' << n << (transA ? " tA" : "") << (transB ? " tB" : "");
  auto &e = entry(key.str(), [&] {
    memory::desc ad({m, k}, dt::f32, transA ? memory::dims{1, m} : memory::dims{k, 1});
    memory::desc bd({k, n}, dt::f32, transB ? memory::dims{1, k} : memory::dims{n, 1});
    memory::desc cd({m, n}, dt::f32, tag::ab);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, cd), engine_);
    announce("matmul", pd, key.str());
    auto made = std::make_unique<Entry>();
    made->prim = dnnl::matmul(pd);
    made->args.push_back(makeArg(engine_, DNNL_ARG_SRC, false, ad, pd.src_desc()));
    made->args.push_back(makeArg(engine_, DNNL_ARG_WEIGHTS, false, bd, pd.weights_desc()));
    made->args.push_back(makeArg(engine_, DNNL_ARG_DST, true, cd, pd.dst_desc()));
    return made;
  });
  run(e, {const_cast<float *>(a), const_cast<float *>(b), c});
}

}  // namespace ws
