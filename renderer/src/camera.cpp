#include "prism/render/camera.hpp"

#include <algorithm>
#include <cmath>

#include <glm/gtc/matrix_transform.hpp>

namespace prism::render {

float Bounds::radius() const { return std::max(0.5f * glm::length(hi - lo), 1e-6f); }

Bounds compute_bounds(ConstView y) {
  PRISM_EXPECTS(y.cols == 2 || y.cols == 3, "positions must have 2 or 3 columns, got ", y.cols);
  Bounds b;
  b.lo = glm::vec3(INFINITY);
  b.hi = glm::vec3(-INFINITY);
  for (int64_t i = 0; i < y.rows; ++i) {
    const float* r = y.row(i);
    const glm::vec3 p(r[0], r[1], y.cols == 3 ? r[2] : 0.0f);
    if (!std::isfinite(p.x) || !std::isfinite(p.y) || !std::isfinite(p.z)) continue;
    b.lo = glm::min(b.lo, p);
    b.hi = glm::max(b.hi, p);
  }
  if (b.lo.x > b.hi.x) b.lo = b.hi = glm::vec3(0.0f);  // no finite point
  return b;
}

void Camera::set_viewport(int width, int height) {
  width_ = std::max(width, 1);
  height_ = std::max(height, 1);
}

void Camera::set_angles(float azimuth_deg, float elevation_deg) {
  state_.rotation = glm::angleAxis(glm::radians(azimuth_deg), glm::vec3(0, 1, 0)) *
                    glm::angleAxis(glm::radians(-elevation_deg), glm::vec3(1, 0, 0));
  animating_ = false;
}

void Camera::fit(const Bounds& b, float zoom) {
  zoom = zoom > 0 ? zoom : 1.0f;
  const float aspect = float(width_) / float(height_);
  const float tan_half = std::tan(glm::radians(fov_deg_) * 0.5f);
  const float r = b.radius();
  scene_radius_ = r;
  state_.target = b.center();
  if (projection_ == Projection::orthographic) {
    // Fit the box's extent along the camera's axes, with a 5% margin.
    const glm::vec3 right = state_.rotation * glm::vec3(1, 0, 0);
    const glm::vec3 up = state_.rotation * glm::vec3(0, 1, 0);
    float ex = 0, ey = 0;
    for (int c = 0; c < 8; ++c) {
      const glm::vec3 p((c & 1) ? b.hi.x : b.lo.x, (c & 2) ? b.hi.y : b.lo.y, (c & 4) ? b.hi.z : b.lo.z);
      ex = std::max(ex, std::abs(glm::dot(p - state_.target, right)));
      ey = std::max(ey, std::abs(glm::dot(p - state_.target, up)));
    }
    const float half_h = std::max({ey, ex / aspect, 1e-6f}) * 1.05f / zoom;
    state_.distance = half_h / tan_half;
  } else {
    // The nearest distance at which all eight corners of the box project
    // inside the view (with a 5% margin): tighter than a bounding sphere.
    const glm::quat inv = glm::conjugate(state_.rotation);
    const float tx = tan_half * aspect / 1.05f, ty = tan_half / 1.05f;
    float d = 0.0f;
    for (int c = 0; c < 8; ++c) {
      const glm::vec3 p((c & 1) ? b.hi.x : b.lo.x, (c & 2) ? b.hi.y : b.lo.y, (c & 4) ? b.hi.z : b.lo.z);
      const glm::vec3 q = inv * (p - state_.target);  // camera space; the eye looks along -z
      d = std::max({d, q.z + std::abs(q.x) / tx, q.z + std::abs(q.y) / ty});
    }
    state_.distance = std::max(d, r * 1e-3f) / zoom;
  }
  animating_ = false;
}

void Camera::fit_points(ConstView y, float zoom, bool flat) {
  Bounds b = compute_bounds(y);
  if (flat || y.cols == 2) b.lo.z = b.hi.z = 0.0f;
  fit(b, zoom);  // target, near/far, and the fallback for no points
  zoom = zoom > 0 ? zoom : 1.0f;
  const float aspect = float(width_) / float(height_);
  const float tan_half = std::tan(glm::radians(fov_deg_) * 0.5f);
  const glm::mat3 inv = glm::mat3_cast(glm::conjugate(state_.rotation));
  const glm::vec3 c = state_.target;
  const bool three = y.cols == 3 && !flat;
  float ex = 0, ey = 0, dmax = 0;  // max reductions: the same result for any thread count
  const float tx = tan_half * aspect / 1.05f, ty = tan_half / 1.05f;
#pragma omp parallel for reduction(max : ex, ey, dmax) schedule(static) if (y.rows > 100000)
  for (int64_t i = 0; i < y.rows; ++i) {
    const float* r = y.row(i);
    const glm::vec3 p(r[0], r[1], three ? r[2] : 0.0f);
    if (!std::isfinite(p.x) || !std::isfinite(p.y) || !std::isfinite(p.z)) continue;
    const glm::vec3 q = inv * (p - c);
    ex = std::max(ex, std::abs(q.x));
    ey = std::max(ey, std::abs(q.y));
    dmax = std::max({dmax, q.z + std::abs(q.x) / tx, q.z + std::abs(q.y) / ty});
  }
  if (projection_ == Projection::orthographic) {
    const float half_h = std::max({ey, ex / aspect, 1e-6f}) * 1.05f / zoom;
    state_.distance = half_h / tan_half;
  } else {
    state_.distance = std::max(dmax, b.radius() * 1e-3f) / zoom;
  }
}

namespace {
glm::vec3 arcball_vector(glm::vec2 px, int w, int h) {
  const float s = float(std::min(w, h));
  glm::vec3 v((2.0f * px.x - w) / s, -(2.0f * px.y - h) / s, 0.0f);
  const float d2 = v.x * v.x + v.y * v.y;
  if (d2 <= 1.0f) v.z = std::sqrt(1.0f - d2);
  else v = glm::normalize(v);
  return v;
}
}  // namespace

void Camera::orbit(glm::vec2 from, glm::vec2 to) {
  const glm::vec3 a = arcball_vector(from, width_, height_);
  const glm::vec3 b = arcball_vector(to, width_, height_);
  const float d = std::clamp(glm::dot(a, b), -1.0f, 1.0f);
  const glm::vec3 axis = glm::cross(a, b);
  if (glm::length(axis) < 1e-7f) return;
  // The drag rotates the scene by q in camera space, so the camera turns by q^-1.
  const glm::quat q = glm::angleAxis(std::acos(d), glm::normalize(axis));
  state_.rotation = glm::normalize(state_.rotation * glm::inverse(q));
  animating_ = false;
}

void Camera::rotate(float yaw_deg, float pitch_deg) {
  state_.rotation = glm::normalize(glm::angleAxis(glm::radians(yaw_deg), glm::vec3(0, 1, 0)) * state_.rotation *
                                   glm::angleAxis(glm::radians(-pitch_deg), glm::vec3(1, 0, 0)));
  animating_ = false;
}

void Camera::zoom_at(glm::vec2 cursor, float factor) {
  if (!(factor > 0)) return;
  const glm::vec3 p = unproject_on_target_plane(cursor);
  state_.target = p + (state_.target - p) * factor;
  state_.distance *= factor;
  animating_ = false;
}

void Camera::pan(glm::vec2 delta_px) {
  const float wpp = world_per_pixel();
  state_.target -= state_.rotation * glm::vec3(delta_px.x * wpp, -delta_px.y * wpp, 0.0f);
  animating_ = false;
}

void Camera::animate_to(const State& to, float seconds) {
  if (seconds <= 0) {
    set_state(to);
    return;
  }
  from_ = state_;
  to_ = to;
  t_ = 0;
  duration_ = seconds;
  animating_ = true;
}

bool Camera::update(float dt) {
  if (!animating_) return false;
  t_ += dt;
  const float u = std::clamp(t_ / duration_, 0.0f, 1.0f);
  const float s = u * u * (3.0f - 2.0f * u);  // smoothstep: no jolt at either end
  state_.target = glm::mix(from_.target, to_.target, s);
  // Distance in log space, so zooming feels uniform.
  state_.distance = std::exp(glm::mix(std::log(from_.distance), std::log(to_.distance), s));
  state_.rotation = glm::slerp(from_.rotation, to_.rotation, s);
  if (u >= 1.0f) {
    state_ = to_;
    animating_ = false;
  }
  return animating_;
}

glm::mat4 Camera::view() const {
  const glm::vec3 eye = state_.target + state_.rotation * glm::vec3(0, 0, state_.distance);
  return glm::mat4_cast(glm::conjugate(state_.rotation)) * glm::translate(glm::mat4(1.0f), -eye);
}

glm::mat4 Camera::proj() const {
  const float aspect = float(width_) / float(height_);
  const float d = state_.distance;
  const float reach = 4.0f * scene_radius_ + glm::length(state_.target) * 1e-3f;
  glm::mat4 p;
  if (projection_ == Projection::orthographic) {
    const float hh = d * std::tan(glm::radians(fov_deg_) * 0.5f);
    p = glm::ortho(-hh * aspect, hh * aspect, -hh, hh, -reach, d + reach);
  } else {
    p = glm::perspective(glm::radians(fov_deg_), aspect, std::max(d - reach, d * 1e-3f), d + reach);
  }
  p[1][1] = -p[1][1];  // Vulkan: NDC y points down, world +y up
  return p;
}

bool Camera::project(glm::vec3 p, glm::vec2* pixel, float* depth) const {
  const glm::vec4 c = view_proj() * glm::vec4(p, 1.0f);
  if (c.w <= 0.0f) return false;
  const glm::vec3 ndc = glm::vec3(c) / c.w;
  if (pixel) *pixel = glm::vec2((ndc.x + 1.0f) * 0.5f * width_, (ndc.y + 1.0f) * 0.5f * height_);
  if (depth) *depth = ndc.z;
  return ndc.z >= 0.0f && ndc.z <= 1.0f;
}

glm::vec3 Camera::unproject_on_target_plane(glm::vec2 pixel) const {
  const float hh = state_.distance * std::tan(glm::radians(fov_deg_) * 0.5f);
  const float hw = hh * float(width_) / float(height_);
  const float nx = 2.0f * pixel.x / width_ - 1.0f;
  const float ny = 2.0f * pixel.y / height_ - 1.0f;
  return state_.target + state_.rotation * glm::vec3(nx * hw, -ny * hh, 0.0f);
}

float Camera::world_per_pixel() const {
  return 2.0f * state_.distance * std::tan(glm::radians(fov_deg_) * 0.5f) / height_;
}

}  // namespace prism::render
