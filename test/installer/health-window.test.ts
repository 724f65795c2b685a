import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  isStable,
  nextHealthWindow,
  unitRunId,
  type HealthWindow,
} from "../../installer/core/health-window.ts";

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
