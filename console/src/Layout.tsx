import type { ReactNode } from "react";
import { Link, useLocation } from "wouter";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { useWorkspace } from "./workspace";

const SECTIONS = [
  { href: "/flows", label: "Flows" },
  { href: "/runs", label: "Runs" },
  { href: "/steps", label: "Catalogue" },
  { href: "/secrets", label: "Secrets" },
];

export function Layout({ children, alert }: { children: ReactNode; alert?: ReactNode }) {
  const { workspace, signOut } = useWorkspace();
  const [location] = useLocation();
  return (
    <div className="layout">
      <header className="topbar">
        <span className="brand">Stepwell</span>
        <nav aria-label="Sections">
          {SECTIONS.map((section) => (
            <Link
              key={section.href}
              href={section.href}
              aria-current={location.startsWith(section.href) ? "page" : undefined}
            >
              {section.label}
            </Link>
          ))}
        </nav>
        {/* A role, so that screen readers announce its label (a bare span's is ignored). */}
        <span className="workspace" role="group" aria-label="Workspace">
          {workspace.name}
        </span>
        <a href="/docs" target="_blank" rel="noreferrer">
          API docs
        </a>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        {alert}
        <ErrorBoundary key={location}>{children}</ErrorBoundary>
      </main>
    </div>
  );
}
