// Problems whose field is not on screen: listed above the editor, each with a way to its step.
import type { Placed } from "./problems";
import type { FlowStepDef } from "./definition";

export function ProblemList({
  problems,
  steps,
  onSelect,
}: {
  problems: Placed["elsewhere"];
  steps: FlowStepDef[];
  onSelect: (index: number) => void;
}) {
  if (problems.length === 0) return null;
  return (
    <section className="error-banner problem-list" aria-label="Problems elsewhere">
      <strong>
        {problems.length === 1 ? "1 problem" : `${problems.length} problems`} not on a field shown
        here:
      </strong>
      <ul className="error-details">
        {problems.map((problem, index) => {
          const step = problem.stepIndex === undefined ? undefined : steps[problem.stepIndex];
          return (
            <li key={index}>
              <code>{problem.pointer || "/"}</code> {problem.message}{" "}
              {problem.stepIndex !== undefined && (
                <button type="button" onClick={() => onSelect(problem.stepIndex!)}>
                  Select step {step?.id ?? problem.stepIndex}
                </button>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
