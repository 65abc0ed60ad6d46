#include "prism/reducer.hpp"

namespace prism {

void run_reducer(Reducer& r, Progress* progress, std::string_view stage, int64_t objective_every) {
  ProgressScope scope(progress, stage, r.total_steps());
  const int64_t every = progress ? progress->positions_every() : 0;
  while (!r.done() && !scope.aborted()) {
    r.step();
    const int64_t done = r.steps_done();
    double value = std::numeric_limits<double>::quiet_NaN();
    if (objective_every > 0 && (done % objective_every == 0 || r.done())) value = r.objective();
    scope.update(done, value);
    if (every > 0 && (done % every == 0 || r.done())) progress->positions(r.embedding());
  }
}

}  // namespace prism
