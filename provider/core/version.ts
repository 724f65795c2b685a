// Kept equal to package.json's version by a test: the core cannot read files.
export const VERSION = "0.1.0";

export const PROGRAM = "nodecred-provider";
