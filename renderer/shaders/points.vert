#version 450
// One vertex per point, drawn as a round sprite. Highlight states change the
// size, the ring colour and the depth so highlighted points stay on top.
layout(location = 0) in vec3 in_pos;
layout(location = 1) in vec4 in_color;  // R8G8B8A8_UNORM
layout(location = 2) in uint in_state;  // PointState bits

layout(push_constant) uniform Push {
  mat4 mvp;
  vec4 background;   // dimmed points fade towards it
  float point_size;  // pixels
  float alpha;       // global opacity multiplier
  uint flags;        // bit 0: isolate the highlighted points
  float max_size;    // device limit
} pc;

layout(location = 0) flat out vec4 v_color;
layout(location = 1) flat out vec4 v_ring;
layout(location = 2) flat out float v_ring_inner;  // radius (0..1) where the ring starts
layout(location = 3) flat out uint v_id;

const uint SELECTED = 1u, HOVERED = 2u, MATCH = 4u, NEIGHBOR = 8u;

void main() {
  vec4 p = pc.mvp * vec4(in_pos, 1.0);
  float size = pc.point_size;
  vec4 c = vec4(in_color.rgb, in_color.a * pc.alpha);
  vec4 ring = c;
  float inner = 2.0;  // no ring
  uint id = uint(gl_VertexIndex) + 1u;
  if ((in_state & HOVERED) != 0u) {
    size = size * 1.8 + 6.0; ring = vec4(0.0, 0.0, 0.0, 1.0); inner = 0.6; c.a = 1.0;
  } else if ((in_state & SELECTED) != 0u) {
    size = size * 1.5 + 4.0; ring = vec4(1.0, 0.25, 0.0, 1.0); inner = 0.55; c.a = 1.0;
  } else if ((in_state & NEIGHBOR) != 0u) {
    size = size * 1.3 + 3.0; ring = vec4(0.0, 0.55, 1.0, 1.0); inner = 0.55; c.a = 1.0;
  } else if ((in_state & MATCH) != 0u) {
    size = size * 1.3 + 3.0; ring = vec4(1.0, 0.8, 0.0, 1.0); inner = 0.5; c.a = 1.0;
  }
  if (in_state != 0u) {
    p.z *= 0.5;  // in front of every ordinary point (depth is z/w in [0, 1])
  } else if ((pc.flags & 1u) != 0u) {
    c.rgb = mix(c.rgb, pc.background.rgb, 0.8);
    c.a *= 0.35;
    size *= 0.7;
    p.z = 0.5 * (p.z + p.w);  // behind every highlighted point
    id = 0u;                  // dimmed points are not pickable
  }
  gl_Position = p;
  gl_PointSize = clamp(size, 1.0, pc.max_size);
  v_color = c;
  v_ring = ring;
  v_ring_inner = inner;
  v_id = id;
}
