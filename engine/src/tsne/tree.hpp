#pragma once
// The Barnes-Hut space-partitioning tree: a quadtree for D = 2, an octree for
// D = 3. Points are sorted along a Morton (Z-order) curve, so every cell is a
// contiguous range of the sorted points and the nodes can be laid out flat in
// depth-first order with a "skip" link to the next node outside the subtree:
// traversal is then a forward scan without a stack (as in Burtscher & Pingali's
// GPU Barnes-Hut and the Morton trees of Karras 2012), and nearby points, which
// are traversed one after another, touch the same nodes.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace prism::tsne {

template <int D>
class SpaceTree {
 public:
  static_assert(D == 2 || D == 3, "quadtree or octree");
  /// Bits per coordinate of the Morton code: the deepest cell is 1/65536 of
  /// the bounding square/cube; closer points share a leaf and are summed exactly.
  static constexpr int kBits = 16;

  struct Node {
    double com[D];  ///< centre of mass of the cell's points
    double width2;  ///< squared side length of the cell
    int32_t begin;  ///< first point of the cell in sorted order
    int32_t end;    ///< one past the last
    int32_t skip;   ///< next node after this subtree (== own index + 1 for a leaf)
  };

  /// Builds the tree over y (n x D, row-major). Cells with at most `leaf_size`
  /// points are leaves.
  void build(const double* y, int64_t n, int leaf_size);

  const std::vector<Node>& nodes() const { return nodes_; }
  /// Sorted position s holds point order()[s] at positions()[s * D ..].
  const std::vector<int32_t>& order() const { return order_; }
  const std::vector<double>& positions() const { return pos_; }

 private:
  /// Levels above this are split on the calling thread; the cells at this
  /// level (256 in 2D, 512 in 3D) are built in parallel.
  static constexpr int kSplitLevel = D == 2 ? 4 : 3;
  struct Task {
    int32_t begin, end;
    int level;
    double width;
  };
  template <class F>
  void for_children(int32_t begin, int32_t end, int level, F&& f) const;
  /// The cells above kSplitLevel: collects the subtrees below them as tasks,
  /// or (emit) writes them and copies the built subtrees in, in depth-first order.
  void top_cells(int32_t begin, int32_t end, int level, double width, bool emit);
  void build_node(std::vector<Node>& out, int32_t begin, int32_t end, int level, double width) const;
  void centre_from_children(std::vector<Node>& nodes, int64_t k) const;
  void centres(std::vector<Node>& nodes) const;

  std::vector<Node> nodes_;
  std::vector<int32_t> order_;
  std::vector<double> pos_;
  std::vector<uint64_t> codes_;
  // radix sort scratch, kept across builds (one per iteration)
  std::vector<uint64_t> codes_tmp_;
  std::vector<int32_t> order_tmp_;
  int leaf_size_ = 1;
  std::vector<Task> tasks_;
  std::vector<std::vector<Node>> subtrees_;
  std::vector<int32_t> top_;  // nodes written by top_cells
  size_t next_task_ = 0;
};

extern template class SpaceTree<2>;
extern template class SpaceTree<3>;

}  // namespace prism::tsne
