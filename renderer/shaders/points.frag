#version 450
layout(location = 0) flat in vec4 v_color;
layout(location = 1) flat in vec4 v_ring;
layout(location = 2) flat in float v_ring_inner;
layout(location = 3) flat in uint v_id;
layout(location = 4) flat in int v_slot;
layout(location = 5) flat in float v_dim;

layout(set = 0, binding = 0) uniform sampler2DArray atlas;  // thumbnails, tiles_x per line

layout(push_constant) uniform Push {
  mat4 mvp;
  vec4 background;
  float point_size;
  float alpha;
  uint flags;
  float max_size;
  float image_scale;
  float image_min_px;
  uint tiles_x;
  uint tiles_per_layer;
  vec2 tile_px;  // one tile, texels
  vec2 fit;      // the image's share of the square sprite
} pc;

layout(location = 0) out vec4 out_color;
layout(location = 1) out uint out_id;  // R32_UINT picking attachment, 0 = background

void main() {
  if (v_slot < 0) {
    float r = length(gl_PointCoord * 2.0 - 1.0);
    if (r > 1.0) discard;
    out_color = r >= v_ring_inner ? v_ring : v_color;
    out_id = v_id;
    return;
  }
  // A thumbnail: square frame, then the image fitted inside (aspect kept),
  // its alpha composited on the background so the square stays opaque.
  const vec2 q = gl_PointCoord * 2.0 - 1.0;
  if (max(abs(q.x), abs(q.y)) >= v_ring_inner) {
    out_color = v_ring;
    out_id = v_id;
    return;
  }
  const vec2 local = q / (pc.fit * v_ring_inner) * 0.5 + 0.5;
  vec3 rgb = pc.background.rgb;
  if (all(greaterThanEqual(local, vec2(0.0))) && all(lessThanEqual(local, vec2(1.0)))) {
    const uint slot = uint(v_slot);
    const uint in_layer = slot % pc.tiles_per_layer;
    const vec2 tile = vec2(float(in_layer % pc.tiles_x), float(in_layer / pc.tiles_x));
    // Half a texel inside the tile: linear filtering never reads a neighbour.
    const vec2 texel = tile * pc.tile_px + clamp(local * pc.tile_px, vec2(0.5), pc.tile_px - 0.5);
    const vec4 t = textureLod(atlas, vec3(texel / vec2(textureSize(atlas, 0).xy), float(slot / pc.tiles_per_layer)), 0.0);
    rgb = mix(pc.background.rgb, t.rgb, t.a);
  }
  rgb = mix(rgb, pc.background.rgb, 0.8 * v_dim);
  out_color = vec4(rgb, v_color.a);
  out_id = v_id;
}
