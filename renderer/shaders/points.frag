#version 450
layout(location = 0) flat in vec4 v_color;
layout(location = 1) flat in vec4 v_ring;
layout(location = 2) flat in float v_ring_inner;
layout(location = 3) flat in uint v_id;

layout(location = 0) out vec4 out_color;
layout(location = 1) out uint out_id;  // R32_UINT picking attachment, 0 = background

void main() {
  float r = length(gl_PointCoord * 2.0 - 1.0);
  if (r > 1.0) discard;
  out_color = r >= v_ring_inner ? v_ring : v_color;
  out_id = v_id;
}
