// The viewer's parts that need no window, tested alone: the table-driven
// script runner (check, help, dispatch, multi-frame actions) on a toy target,
// and the input state machine fed with synthetic frames of mouse and keys.
#include <gtest/gtest.h>

#include "../../app/viewer/input.hpp"
#include "../../app/viewer/script.hpp"

using namespace prism;
using namespace prism::app::viewer;

namespace {

struct Toy {
  std::vector<std::string> log;
  int waits = 0;
};

Step toy_say(Toy& t, const ScriptLine& l) {
  t.log.push_back(l.word(1));
  return Step::done;
}
Step toy_add(Toy& t, const ScriptLine& l) {
  t.log.push_back(std::to_string(l.number(1) + l.number(2, 100)));
  return Step::done;
}
Step toy_wait(Toy& t, const ScriptLine& l) {
  if (t.waits++ < int(l.number(1))) return Step::again;
  t.waits = 0;
  t.log.push_back("waited");
  return Step::done;
}

const ScriptAction<Toy> kToy[] = {
    {"say", "WORD", "log a word", 1, 1, toy_say, "tell"},
    {"add", "A [B]", "log A + B (B = 100)", 1, 2, toy_add},
    {"wait", "N", "take N extra frames", 1, 1, toy_wait},
};

}  // namespace

TEST(ViewScriptRunner, ChecksEveryLineBeforeRunning) {
  const std::span<const ScriptAction<Toy>> table(kToy);
  const auto lines = parse_script<Toy>("say hello\n# a comment\n\n  tell \"two words\"  # trailing\nadd 1\n",
                                       "t.txt", table);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1].words, (std::vector<std::string>{"tell", "two words"}));
  EXPECT_EQ(lines[2].line, 5);
  // Unknown actions, wrong argument counts and bad quotes name the line.
  auto error_of = [&](const std::string& text) {
    try {
      parse_script<Toy>(text, "t.txt", table);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("say a\nfly away\n").find("t.txt line 2: unknown action 'fly' (say add wait)"),
            std::string::npos);
  EXPECT_NE(error_of("add\n").find("t.txt line 1: 'add' takes 1 to 2 arguments, got 0 (usage: add A [B])"),
            std::string::npos)
      << error_of("add\n");
  EXPECT_NE(error_of("say a b\n").find("takes 1 argument, got 2"), std::string::npos) << error_of("say a b\n");
  EXPECT_NE(error_of("say \"open\n").find("line 1: unterminated quote"), std::string::npos);
  // A number that is not one fails when the action runs, naming the line.
  Toy toy;
  ScriptRunner<Toy> bad(table, parse_script<Toy>("add 1x\n", "t.txt", table));
  try {
    bad.step(toy);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("t.txt line 1: '1x' is not a number"), std::string::npos) << e.what();
  }
}

TEST(ViewScriptRunner, DispatchesThroughTheTableAndWaitsForMultiFrameActions) {
  const std::span<const ScriptAction<Toy>> table(kToy);
  Toy toy;
  ScriptRunner<Toy> run(table, parse_script<Toy>("say a\nwait 2\nadd 1 2\ntell b\nadd 5\n", "", table));
  int frames = 0;
  while (run.step(toy)) ++frames;
  EXPECT_EQ(toy.log, (std::vector<std::string>{"a", "waited", "3.000000", "b", "105.000000"}));
  EXPECT_EQ(frames, 7);  // 5 actions, the wait took 2 frames more
  EXPECT_TRUE(run.finished());
  // The help footer is made from the same table.
  const std::string help = script_help(table);
  EXPECT_NE(help.find("  say WORD   log a word (also: tell)\n"), std::string::npos) << help;
  EXPECT_NE(help.find("  add A [B]  log A + B (B = 100)\n"), std::string::npos) << help;
}

TEST(ViewInput, DragsClicksWheelAndKeysBecomeCommands) {
  InputHandler h;
  auto frame = [&](glm::vec2 m, bool pressed, bool down, bool released, bool two_d = false) {
    InputSnapshot s;
    s.mouse = m;
    s.mouse_valid = true;
    s.left_pressed = pressed;
    s.left_down = down;
    s.left_released = released;
    return h.update(s, two_d);
  };
  // Every frame hovers the cursor first.
  auto c = frame({10, 10}, false, false, false);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].kind, InputCommand::hover);
  EXPECT_TRUE(c[0].valid);
  // A left drag orbits in 3D (from the last position to the new one)...
  frame({10, 10}, true, true, false);
  EXPECT_TRUE(h.navigating());
  c = frame({30, 15}, false, true, false);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[1].kind, InputCommand::orbit);
  EXPECT_EQ(c[1].a, glm::vec2(10, 10));
  EXPECT_EQ(c[1].b, glm::vec2(30, 15));
  c = frame({30, 15}, false, false, true);
  EXPECT_EQ(c.size(), 1u);  // released after a drag: no click
  EXPECT_FALSE(h.navigating());
  // ...and pans in 2D.
  frame({0, 0}, true, true, false, true);
  c = frame({5, -4}, false, true, false, true);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[1].kind, InputCommand::pan);
  EXPECT_EQ(c[1].a, glm::vec2(5, -4));
  frame({5, -4}, false, false, true, true);
  // A press and release in place is a click; Shift makes it a toggle.
  frame({50, 50}, true, true, false);
  InputSnapshot up;
  up.mouse = {51, 50};
  up.mouse_valid = true;
  up.left_released = true;
  up.shift = true;
  c = h.update(up, false);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[1].kind, InputCommand::click);
  EXPECT_EQ(c[1].mode, SelectMode::toggle);
  // Ctrl+drag selects a box; the box tool does without Ctrl; Shift adds.
  InputSnapshot press;
  press.mouse = {100, 100};
  press.left_pressed = press.left_down = true;
  press.ctrl = true;
  h.update(press, false);
  EXPECT_EQ(h.drag(), InputHandler::Drag::box);
  InputSnapshot release;
  release.mouse = {200, 160};
  release.left_released = true;
  release.shift = true;
  c = h.update(release, false);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[1].kind, InputCommand::box);
  EXPECT_EQ(c[1].a, glm::vec2(100, 100));
  EXPECT_EQ(c[1].b, glm::vec2(200, 160));
  EXPECT_EQ(c[1].mode, SelectMode::add);
  // The lasso tool collects the path.
  InputSnapshot key;
  key.keys = {Key::lasso_tool};
  h.update(key, false);
  EXPECT_EQ(h.tool(), Tool::lasso);
  frame({0, 0}, true, true, false);
  frame({20, 0}, false, true, false);
  frame({20, 20}, false, true, false);
  c = frame({0, 20}, false, false, true);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[1].kind, InputCommand::lasso);
  EXPECT_EQ(c[1].polygon.size(), 3u);  // the release point is not added
  // Over a panel: no hover, no wheel, no drag.
  InputSnapshot ui;
  ui.mouse = {5, 5};
  ui.mouse_valid = true;
  ui.over_ui = true;
  ui.wheel = 2;
  ui.left_pressed = ui.left_down = true;
  c = h.update(ui, false);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_FALSE(c[0].valid);
  EXPECT_EQ(h.drag(), InputHandler::Drag::none);
  // The wheel zooms at the cursor: one notch in is a factor of 0.85.
  InputSnapshot wheel;
  wheel.mouse = {40, 30};
  wheel.mouse_valid = true;
  wheel.wheel = 1;
  c = h.update(wheel, false);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[1].kind, InputCommand::zoom);
  EXPECT_FLOAT_EQ(c[1].factor, 0.85f);
  EXPECT_EQ(c[1].a, glm::vec2(40, 30));
}
