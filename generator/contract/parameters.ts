/**
 * The algorithm's parameters: the approved values (`inputs.algorithm.parameters`) and what the
 * consumer may change in a run request (`inputs.algorithm.consumerParameters`, Ocean's form with
 * limits). A parameter the consumer may not change keeps its approved value; privacy controls of
 * the output policy can never be changed. Pure.
 */

import type { Contract, ConsumerParameter } from "./types.generated.js";

/** Output-policy controls whose names a consumer parameter may not take (they protect the data subjects). */
export const PRIVACY_CONTROLS = [
  "minGroupSize",
  "differentialPrivacyEpsilon",
  "maxBytes",
  "noRawRecords",
  "ownerReview",
  "countColumn",
  "fileTypes",
  "extensionless",
] as const;

export interface ParameterProblem {
  /** JSON path below the object checked, e.g. `$.parameters.groupBy`. */
  readonly path: string;
  readonly message: string;
  readonly fix: string;
}

const DEFAULT_TEXT_LENGTH = 200;

function optionValues(parameter: ConsumerParameter): string[] {
  return (parameter.options ?? []).flatMap((option) => Object.keys(option));
}

/** Why `value` is not allowed for `parameter`, or undefined. */
export function parameterValueProblem(parameter: ConsumerParameter, value: unknown): string | undefined {
  switch (parameter.type) {
    case "number": {
      if (typeof value !== "number" || !Number.isFinite(value)) return "must be a number";
      if (parameter.integer === true && !Number.isInteger(value)) return "must be a whole number";
      if (parameter.minimum !== undefined && value < parameter.minimum) return `must be at least ${parameter.minimum}`;
      if (parameter.maximum !== undefined && value > parameter.maximum) return `must be at most ${parameter.maximum}`;
      return undefined;
    }
    case "boolean":
      return typeof value === "boolean" ? undefined : "must be true or false";
    case "select": {
      const values = optionValues(parameter);
      return typeof value === "string" && values.includes(value) ? undefined : `must be one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
    }
    case "text": {
      if (typeof value !== "string") return "must be text";
      const max = parameter.maxLength ?? DEFAULT_TEXT_LENGTH;
      if (value.length > max) return `must be at most ${max} characters`;
      if ([...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return "must not contain control characters";
      if (parameter.pattern !== undefined && !new RegExp(`^(?:${parameter.pattern})$`, "u").test(value)) return `must match ${parameter.pattern}`;
      return undefined;
    }
  }
}

/** Problems of the contract's own parameter rules (paths relative to the contract). */
export function consumerParameterRuleProblems(contract: Contract): ParameterProblem[] {
  const algorithm = contract.inputs.algorithm;
  const problems: ParameterProblem[] = [];
  const seen = new Set<string>();
  const defaults = algorithm.parameters ?? {};
  (algorithm.consumerParameters ?? []).forEach((parameter, i) => {
    const path = `$.inputs.algorithm.consumerParameters[${i}]`;
    const add = (where: string, message: string, fix: string): void => {
      problems.push({ path: `${path}${where}`, message, fix });
    };
    if (seen.has(parameter.name)) add(".name", `repeats ${JSON.stringify(parameter.name)}`, "list each parameter once");
    seen.add(parameter.name);
    if (
      (PRIVACY_CONTROLS as readonly string[]).includes(parameter.name) ||
      (contract.outputs.policy as Record<string, unknown>)[parameter.name] !== undefined
    ) {
      add(
        ".name",
        `${JSON.stringify(parameter.name)} is a privacy control of the output policy; the consumer may never set it`,
        "remove it from consumerParameters; its approved value stays fixed",
      );
    }
    if (parameter.type === "select" && (parameter.options ?? []).length === 0)
      add(".options", "a select parameter needs its options", "list the allowed values");
    if (parameter.type !== "select" && parameter.options !== undefined)
      add(".options", `only select parameters have options (this one is ${parameter.type})`, "remove options");
    if (parameter.type !== "number" && (parameter.minimum !== undefined || parameter.maximum !== undefined || parameter.integer !== undefined))
      add("", `minimum, maximum and integer are for number parameters (this one is ${parameter.type})`, "remove them");
    if (parameter.type !== "text" && (parameter.pattern !== undefined || parameter.maxLength !== undefined))
      add("", `pattern and maxLength are for text parameters (this one is ${parameter.type})`, "remove them");
    if (parameter.minimum !== undefined && parameter.maximum !== undefined && parameter.minimum > parameter.maximum)
      add(".minimum", `is above maximum ${parameter.maximum}`, "set minimum ≤ maximum");
    if (parameter.pattern !== undefined) {
      try {
        new RegExp(parameter.pattern, "u");
      } catch {
        add(".pattern", "is not a valid regular expression", "fix the pattern");
      }
    }
    const defaultProblem = parameterValueProblem(parameter, parameter.default);
    if (defaultProblem !== undefined) add(".default", defaultProblem, "set a default the parameter's own rules allow");
    if (Object.hasOwn(defaults, parameter.name) && parameterValueProblem(parameter, defaults[parameter.name]) !== undefined)
      add("", `the approved value in inputs.algorithm.parameters.${parameter.name} is outside these rules`, "make the approved value one the rules allow");
  });
  return problems;
}

/**
 * Checks a run request's parameters against the consumer parameters; returns the parameters the
 * run gets (approved values, consumer defaults, then the request) or the problems.
 */
export function runParameters(
  contract: Contract,
  requested: Readonly<Record<string, unknown>>,
): { parameters?: Record<string, unknown>; problems: ParameterProblem[] } {
  const algorithm = contract.inputs.algorithm;
  const rules = new Map((algorithm.consumerParameters ?? []).map((parameter) => [parameter.name, parameter]));
  const problems: ParameterProblem[] = [];
  for (const [name, value] of Object.entries(requested)) {
    const rule = rules.get(name);
    const path = `$.parameters.${name}`;
    if (rule === undefined) {
      const fixed = Object.hasOwn(algorithm.parameters ?? {}, name) || (PRIVACY_CONTROLS as readonly string[]).includes(name);
      problems.push({
        path,
        message: fixed
          ? `${JSON.stringify(name)} is fixed by the approval; the consumer may not set it`
          : `${JSON.stringify(name)} is not a parameter the consumer may set`,
        fix: rules.size > 0 ? `set only ${[...rules.keys()].join(", ")}` : "request the run without parameters; this contract lets the consumer set none",
      });
      continue;
    }
    const problem = parameterValueProblem(rule, value);
    if (problem !== undefined) problems.push({ path, message: `${JSON.stringify(value)} ${problem}`, fix: "request a value within the approved limits" });
  }
  for (const rule of rules.values()) {
    if (rule.required && !Object.hasOwn(requested, rule.name) && !Object.hasOwn(algorithm.parameters ?? {}, rule.name)) {
      problems.push({ path: `$.parameters.${rule.name}`, message: "is required", fix: `set ${rule.name}` });
    }
  }
  if (problems.length > 0) return { problems };
  const defaults = Object.fromEntries([...rules.values()].map((rule) => [rule.name, rule.default]));
  return { parameters: { ...defaults, ...(algorithm.parameters ?? {}), ...requested }, problems: [] };
}
