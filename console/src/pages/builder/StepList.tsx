// The flow's steps as a list of buttons: the keyboard way to select a step (the graph's is
// the mouse way).
import type { FlowStepDef } from "./definition";

export function StepList({
  steps,
  selected,
  onSelect,
}: {
  steps: FlowStepDef[];
  selected: number | null;
  onSelect: (index: number | null) => void;
}) {
  return (
    <nav className="panel step-list" aria-label="Steps">
      <h2>Steps</h2>
      {steps.length === 0 ? (
        <p className="hint">
          No steps yet. Add one from the palette below; it appears here and in the graph.
        </p>
      ) : (
        <ol>
          {steps.map((step, index) => (
            <li key={index}>
              <button
                type="button"
                aria-current={index === selected ? "true" : undefined}
                onClick={() => onSelect(index)}
              >
                {/* Named by what it shows ("Edit step clean text.slugify@1.0.0"), so speech
                    control users can say what they see. */}
                <span className="visually-hidden">Edit step </span>
                {String(step.id)} <small>{String(step.uses)}</small>
              </button>
            </li>
          ))}
        </ol>
      )}
      <button
        type="button"
        aria-current={selected === null ? "true" : undefined}
        onClick={() => onSelect(null)}
      >
        Flow settings
      </button>
    </nav>
  );
}
