#pragma once
// Subcommand registry: each app/cmd_*.cpp registers itself with a static
// PRISM_COMMAND(...) so commands can be added without touching main.cpp.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace prism::app {

/// Adds the subcommand's options to `sub` and returns the function that runs
/// it after parsing (returning the exit code).
using CommandSetup = std::function<std::function<int()>(CLI::App& sub)>;

struct CommandInfo {
  std::string name;
  std::string description;
  CommandSetup setup;
  int order;  ///< position in --help
};

std::vector<CommandInfo>& command_registry();

struct CommandRegistrar {
  CommandRegistrar(std::string name, std::string description, int order, CommandSetup setup) {
    command_registry().push_back({std::move(name), std::move(description), std::move(setup), order});
  }
};

}  // namespace prism::app

#define PRISM_COMMAND_CAT2(a, b) a##b
#define PRISM_COMMAND_CAT(a, b) PRISM_COMMAND_CAT2(a, b)
/// PRISM_COMMAND("name", "one-line description", order, setup_function)
#define PRISM_COMMAND(name, description, order, setup) \
  static ::prism::app::CommandRegistrar PRISM_COMMAND_CAT(prism_command_, __LINE__)(name, description, order, setup)
