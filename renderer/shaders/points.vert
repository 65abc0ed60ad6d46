#version 450
// One vertex per point, drawn as a sprite: a round dot, or a thumbnail from the
// atlas when thumbnails are on, the point has an image and it is large enough
// on screen (level of detail). Highlight states change the size, the ring (or
// frame) colour and the depth so highlighted points stay on top.
layout(location = 0) in vec3 in_pos;
layout(location = 1) in vec4 in_color;  // R8G8B8A8_UNORM
layout(location = 2) in uint in_state;  // PointState bits
layout(location = 3) in uint in_size;   // size multiplier, 64 = 1.0
layout(location = 4) in int in_slot;    // thumbnail slot, -1 = none

layout(push_constant) uniform Push {
  mat4 mvp;
  vec4 background;    // dimmed points fade towards it
  float point_size;   // pixels
  float alpha;        // global opacity multiplier
  uint flags;         // bit 0: isolate the highlighted points; bit 1: thumbnails
  float max_size;     // device limit
  float image_scale;  // thumbnail edge in pixels at clip w = 1
  float image_min_px; // smaller thumbnails stay dots
  uint tiles_x;       // atlas geometry (used by the fragment shader)
  uint tiles_per_layer;
  vec2 tile_px;
  vec2 fit;
} pc;

layout(location = 0) flat out vec4 v_color;
layout(location = 1) flat out vec4 v_ring;
layout(location = 2) flat out float v_ring_inner;  // where the ring (dot: radius, image: frame) starts, 0..1
layout(location = 3) flat out uint v_id;
layout(location = 4) flat out int v_slot;          // >= 0: draw this thumbnail
layout(location = 5) flat out float v_dim;         // 1: faded towards the background

const uint SELECTED = 1u, HOVERED = 2u, MATCH = 4u, NEIGHBOR = 8u, HIGHLIGHT = 15u;

void main() {
  vec4 p = pc.mvp * vec4(in_pos, 1.0);
  float size = pc.point_size * float(in_size) / 64.0;
  vec4 c = vec4(in_color.rgb, in_color.a * pc.alpha);
  int slot = -1;
  if ((pc.flags & 2u) != 0u && in_slot >= 0 && p.w > 0.0) {
    const float px = pc.image_scale / p.w;
    if (px >= pc.image_min_px) {
      slot = in_slot;
      size = px * float(in_size) / 64.0;
    }
  }
  vec4 ring = c;
  float inner = 2.0;  // no ring
  uint id = uint(gl_VertexIndex) + 1u;
  const uint hl = in_state & HIGHLIGHT;
  if (slot >= 0) {
    // Thumbnails: a thin frame in the point's colour (its class), thicker and
    // in the highlight colour when highlighted; the hovered one enlarged.
    float frame = 1.5;
    if ((hl & HOVERED) != 0u) { size = size * 2.5 + 8.0; ring = vec4(0.0, 0.0, 0.0, 1.0); frame = 3.0; }
    else if ((hl & SELECTED) != 0u) { size = size * 1.15 + 4.0; ring = vec4(1.0, 0.25, 0.0, 1.0); frame = 3.0; }
    else if ((hl & NEIGHBOR) != 0u) { size = size * 1.1 + 3.0; ring = vec4(0.0, 0.55, 1.0, 1.0); frame = 3.0; }
    else if ((hl & MATCH) != 0u) { size = size * 1.1 + 3.0; ring = vec4(1.0, 0.8, 0.0, 1.0); frame = 3.0; }
    size = clamp(size, 1.0, pc.max_size);
    inner = 1.0 - 2.0 * frame / size;
    ring.a = 1.0;
    c.a = hl != 0u ? 1.0 : c.a;
  } else if ((hl & HOVERED) != 0u) {
    size = size * 1.8 + 6.0; ring = vec4(0.0, 0.0, 0.0, 1.0); inner = 0.6; c.a = 1.0;
  } else if ((hl & SELECTED) != 0u) {
    size = size * 1.5 + 4.0; ring = vec4(1.0, 0.25, 0.0, 1.0); inner = 0.55; c.a = 1.0;
  } else if ((hl & NEIGHBOR) != 0u) {
    size = size * 1.3 + 3.0; ring = vec4(0.0, 0.55, 1.0, 1.0); inner = 0.55; c.a = 1.0;
  } else if ((hl & MATCH) != 0u) {
    size = size * 1.3 + 3.0; ring = vec4(1.0, 0.8, 0.0, 1.0); inner = 0.5; c.a = 1.0;
  }
  float dim = 0.0;
  if (hl != 0u) {
    p.z *= 0.5;  // in front of every ordinary point (depth is z/w in [0, 1])
  } else if ((pc.flags & 1u) != 0u && in_state == 0u) {
    c.rgb = mix(c.rgb, pc.background.rgb, 0.8);
    ring.rgb = mix(ring.rgb, pc.background.rgb, 0.8);
    c.a *= 0.35;
    size *= 0.7;
    p.z = 0.5 * (p.z + p.w);  // behind every highlighted point
    id = 0u;                  // dimmed points are not pickable
    dim = 1.0;
  }
  gl_Position = p;
  gl_PointSize = clamp(size, 1.0, pc.max_size);
  v_color = c;
  v_ring = ring;
  v_ring_inner = inner;
  v_id = id;
  v_slot = slot;
  v_dim = dim;
}
