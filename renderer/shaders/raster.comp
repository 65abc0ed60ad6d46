#version 450
// Compute rasterisation, pass 1: every point writes (depth << 32 | ~id) into a
// 64-bit per-pixel word with atomicMin, so the nearest point wins without any
// ordering (and, at equal depth, the later point, as in the sprite pipeline).
// Points [first, n) of the draw order: a frame may be drawn in chunks.
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_EXT_shader_atomic_int64 : require
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer Positions { float pos[]; };  // 3 floats per point
layout(std430, set = 0, binding = 1) readonly buffer States { uint state[]; };    // 4 uint8 per word
layout(std430, set = 0, binding = 2) buffer Frame { uint64_t fb[]; };             // width * height
layout(std430, set = 0, binding = 6) readonly buffer Sizes { uint size[]; };      // 4 uint8 per word, 64 = 1.0

layout(push_constant) uniform Push {
  mat4 mvp;
  vec4 background;
  uint n, width, height, flags;  // flags bit 0: isolate
  float radius;                  // pixels
  float alpha;
  uint groups_x;                 // workgroups per dispatch row
  uint first;                    // the first draw position of this chunk
} pc;

void main() {
  const uint i = pc.first + gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * pc.groups_x * 256u;
  if (i >= pc.n) return;
  const vec4 p = pc.mvp * vec4(pos[3u * i], pos[3u * i + 1u], pos[3u * i + 2u], 1.0);
  if (p.w <= 0.0) return;
  float z = p.z / p.w;
  if (z < 0.0 || z > 1.0) return;
  const uint s = (state[i >> 2u] >> ((i & 3u) * 8u)) & 0xFFu;
  float r = pc.radius * float((size[i >> 2u] >> ((i & 3u) * 8u)) & 0xFFu) / 64.0;
  if ((s & 15u) != 0u) {  // highlighted (kFocus alone is not)
    z *= 0.5;
    r = r * 1.5 + 2.0;
  } else if ((pc.flags & 1u) != 0u && s == 0u) {
    z = 0.5 * (z + 1.0);
    r *= 0.7;
  }
  r = min(r, 16.0);
  const vec2 c = (p.xy / p.w + 1.0) * 0.5 * vec2(pc.width, pc.height);
  const uint64_t v = (uint64_t(floatBitsToUint(z)) << 32) | uint64_t(0xFFFFFFFEu - i);
  if (r <= 0.71) {  // sub-pixel point: the pixel that contains it
    const ivec2 q = ivec2(floor(c));
    if (q.x >= 0 && q.y >= 0 && q.x < int(pc.width) && q.y < int(pc.height))
      atomicMin(fb[uint(q.y) * pc.width + uint(q.x)], v);
    return;
  }
  // Pixel centres within r of the centre, as the sprite path's round points.
  const ivec2 lo = max(ivec2(floor(c - r)), ivec2(0));
  const ivec2 hi = min(ivec2(ceil(c + r)), ivec2(pc.width, pc.height) - 1);
  for (int y = lo.y; y <= hi.y; ++y)
    for (int x = lo.x; x <= hi.x; ++x) {
      const vec2 d = vec2(x, y) + 0.5 - c;
      if (dot(d, d) <= r * r) atomicMin(fb[uint(y) * pc.width + uint(x)], v);
    }
}
