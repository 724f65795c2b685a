import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  endedRuns,
  isStable,
  nextHealthWindow,
  nextRunTally,
  type RunTally,
  unitRunId,
  type HealthWindow,
} from "../../installer/core/rollout/health-window.ts";

/** One poll: [ms since restart, unit active, run id, healthz 200]. */
type Poll = [number, boolean, string, boolean];

const OLD = unitRunId("100", "5000");
const NEW = unitRunId("200", "9000");
const NEWER = unitRunId("300", "9900");

/** The first poll time at which the kubelet counts as healthy, or null. */
function firstStable(polls: readonly Poll[], stableMs: number): number | null {
  let w: HealthWindow = null;
  for (const [atMs, active, id, healthzOk] of polls) {
    w = nextHealthWindow(w, { atMs, run: { active, id }, healthzOk }, OLD);
    if (isStable(w, atMs, stableMs)) return atMs;
  }
  return null;
}

describe("kubelet health after a restart: same run, healthy, for the whole window", () => {
  const cases: [string, Poll[], number | null][] = [
    [
      "comes up and stays up",
      [
        [0, false, "0@0", false],
        [500, true, NEW, true],
        [1000, true, NEW, true],
        [1500, true, NEW, true],
      ],
      1500,
    ],
    [
      "answers once, then crashes (unit failed)",
      [
        [500, true, NEW, true],
        [1000, false, "0@0", false],
        [1500, true, NEWER, true],
        [2000, false, "0@0", false],
      ],
      null,
    ],
    [
      "crashes and is restarted by systemd between two polls (active both times)",
      [
        [500, true, NEW, true],
        [1000, true, NEWER, true],
        [1400, true, NEWER, true],
      ],
      null,
    ],
    [
      "the run the restart replaced still answering never counts",
      [
        [0, true, OLD, true],
        [500, true, OLD, true],
        [1000, true, OLD, true],
        [1500, true, OLD, true],
      ],
      null,
    ],
    [
      "one failed healthz starts the window again",
      [
        [500, true, NEW, true],
        [1000, true, NEW, false],
        [1500, true, NEW, true],
        [2000, true, NEW, true],
        [2500, true, NEW, true],
      ],
      2500,
    ],
    [
      "active without healthz is not healthy",
      [
        [500, true, NEW, false],
        [1000, true, NEW, false],
        [1500, true, NEW, false],
      ],
      null,
    ],
    [
      "systemctl could not be asked",
      [
        [500, false, "", true],
        [1000, false, "", true],
        [1500, false, "", true],
      ],
      null,
    ],
  ];
  for (const [name, polls, want] of cases) {
    it(name, () => {
      assert.equal(firstStable(polls, 1000), want);
    });
  }
  it("a zero window is the old behaviour: the first good poll (which the crash case would pass)", () => {
    assert.equal(
      firstStable(
        [
          [500, true, NEW, true],
          [1000, false, "0@0", false],
        ],
        0,
      ),
      500,
    );
  });
});

describe("kubelet exits counted after a restart (to give up before the timeout)", () => {
  /** One poll: [unit active, run id (MainPID@ActiveEnterTimestampMonotonic)]. */
  type RunPoll = [boolean, string];
  /** Ended runs after each poll. */
  function exitsAfterEach(polls: readonly RunPoll[]): number[] {
    let tally: RunTally = [];
    return polls.map(([active, id]) => {
      const run = { active, id };
      tally = nextRunTally(tally, run, OLD);
      return endedRuns(tally, run);
    });
  }
  const cases: [string, RunPoll[], number[]][] = [
    [
      "the replaced run still up is not a new run",
      [
        [true, OLD],
        [true, OLD],
      ],
      [0, 0],
    ],
    [
      "the replaced run ending is not an exit of a new run",
      [
        [false, "0@5000"],
        [true, NEW],
      ],
      [0, 0],
    ],
    [
      "a new run that stays up has not exited",
      [
        [true, NEW],
        [true, NEW],
        [true, NEW],
      ],
      [0, 0, 0],
    ],
    [
      "a run that exits is counted while systemd waits to restart it (MainPID 0, same activation)",
      [
        [true, NEW],
        [false, "0@9000"],
        [false, "0@9000"],
      ],
      [0, 1, 1],
    ],
    [
      "a run never seen up counts once a newer one shows",
      [
        [false, "0@9000"],
        [true, NEWER],
      ],
      [1, 1],
    ],
    [
      "each run that comes and goes counts once",
      [
        [true, NEW],
        [false, "0@9000"],
        [true, NEWER],
        [false, "0@9900"],
        [true, unitRunId("400", "12000")],
      ],
      [0, 1, 1, 2, 2],
    ],
    [
      "systemctl could not be asked: nothing is counted",
      [
        [false, ""],
        [false, ""],
      ],
      [0, 0],
    ],
    ["a unit never activated (timestamp 0) is not a run", [[false, "0@0"]], [0]],
  ];
  for (const [name, polls, want] of cases) {
    it(name, () => {
      assert.deepEqual(exitsAfterEach(polls), want);
    });
  }
});
