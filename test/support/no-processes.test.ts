// The fast lane's guard is in force there: starting a process fails, naming why.
import { execFile, execFileSync, spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

describe("the fast lane", () => {
  it("refuses to start a process, by any of child_process's calls", () => {
    expect(() => execFileSync("true")).toThrow(/child_process\.execFileSync: the fast lane starts no process/);
    expect(() => spawn("true")).toThrow(/child_process\.spawn: the fast lane starts no process/);
    expect(() => execFile("true", () => undefined)).toThrow(/child_process\.execFile: the fast lane starts no process/);
  });
});
