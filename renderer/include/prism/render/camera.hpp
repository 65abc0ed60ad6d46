#pragma once
// The camera shared by the GPU (its view-projection matrix) and the CPU
// (projection for selection, labels and tests): orbit rotation (arcball),
// zoom towards the cursor, pan, fit-to-data, a 2D orthographic mode and
// smooth transitions between states.
//
// Conventions: Vulkan clip space, depth in [0, 1], and NDC (-1, -1) is the
// top-left pixel, so world +y points up on screen. Pixels are measured from
// the top-left corner of the viewport; pixel (i, j) covers [i, i+1) x [j, j+1).
// Angles are in degrees in the public API.
#include <glm/glm.hpp>
#include <glm/gtc/quaternion.hpp>

#include "prism/matrix.hpp"

namespace prism::render {

enum class Projection { perspective, orthographic };

/// Axis-aligned bounds of a point set (z = 0 for 2D data).
struct Bounds {
  glm::vec3 lo{0.0f}, hi{0.0f};
  glm::vec3 center() const { return 0.5f * (lo + hi); }
  /// Half the diagonal (at least a tiny positive value).
  float radius() const;
};
/// Bounds of the finite rows of an n x 2 or n x 3 view.
Bounds compute_bounds(ConstView y);

class Camera {
 public:
  /// What a transition interpolates.
  struct State {
    glm::vec3 target{0.0f};                 ///< the point looked at (orbit centre)
    float distance = 1.0f;                  ///< eye to target, world units
    glm::quat rotation{1.0f, 0, 0, 0};      ///< camera-to-world rotation
  };

  Camera() = default;

  void set_viewport(int width, int height);
  int width() const { return width_; }
  int height() const { return height_; }

  void set_projection(Projection p) { projection_ = p; }
  Projection projection() const { return projection_; }
  /// Vertical field of view in degrees (perspective); the orthographic view
  /// shows the same height at the target's distance.
  void set_fov(float degrees) { fov_deg_ = degrees; }

  /// Turntable angles: azimuth around world +y (0 looks along -z, 90 along -x),
  /// elevation above the x-z plane. Replaces the rotation.
  void set_angles(float azimuth_deg, float elevation_deg);
  /// Looks at `b` from the current direction so the whole box fits the view,
  /// divided by `zoom` (2 shows half the extent).
  void fit(const Bounds& b, float zoom = 1.0f);
  /// Fit-to-data: looks at the centre of y's bounds (n x 2 or n x 3; z = 0 for
  /// 2 columns, or when `flat`) from the current direction, at the nearest
  /// distance where every finite point is in view (5% margin), divided by `zoom`.
  /// Tighter than fit() for 3D clouds, whose boxes have empty corners.
  void fit_points(ConstView y, float zoom = 1.0f, bool flat = false);

  /// Arcball rotation for a drag from pixel `from` to pixel `to` (about the target).
  void orbit(glm::vec2 from, glm::vec2 to);
  /// Rotates about the view's vertical and horizontal axes by the given angles (degrees).
  void rotate(float yaw_deg, float pitch_deg);
  /// Scales the distance by `factor` (< 1 zooms in) keeping the world point under
  /// pixel `cursor` fixed on screen.
  void zoom_at(glm::vec2 cursor, float factor);
  /// Moves the target so the scene follows the cursor by `delta` pixels.
  void pan(glm::vec2 delta_px);

  const State& state() const { return state_; }
  void set_state(const State& s) { state_ = s; animating_ = false; }
  /// Starts a smooth transition from the current state to `to` over `seconds`.
  void animate_to(const State& to, float seconds = 0.35f);
  /// Advances a transition by `dt` seconds; returns true while it is running.
  bool update(float dt);
  bool animating() const { return animating_; }

  glm::mat4 view() const;
  glm::mat4 proj() const;
  glm::mat4 view_proj() const { return proj() * view(); }

  /// Pixel position of a world point (x right, y down from the top-left);
  /// `depth` receives NDC depth in [0, 1]. Returns false behind the eye or
  /// outside the depth range.
  bool project(glm::vec3 p, glm::vec2* pixel, float* depth = nullptr) const;
  /// World point under `pixel` on the plane through the target facing the camera.
  glm::vec3 unproject_on_target_plane(glm::vec2 pixel) const;
  /// World units per pixel at the target's distance.
  float world_per_pixel() const;

 private:
  State state_;
  State from_, to_;
  float t_ = 0, duration_ = 0;
  bool animating_ = false;
  int width_ = 1, height_ = 1;
  float fov_deg_ = 45.0f;
  float scene_radius_ = 1.0f;  // sets the near/far planes
  Projection projection_ = Projection::perspective;
};

}  // namespace prism::render
