// Every page of the console, by hash route (`/#/flows/flw_...`). One line per page.
import { Redirect, Route, Switch } from "wouter";
import { EmptyState } from "./components/EmptyState";
import { FlowBuilderPage, NewFlowPage } from "./pages/builder/BuilderPage";
import { VersionsPage } from "./pages/builder/VersionsPage";
import { FlowsPage } from "./pages/flows/FlowsPage";
import { RunPage } from "./pages/runs/RunPage";
import { RunsPage } from "./pages/runs/RunsPage";
import { CataloguePage } from "./pages/steps/CataloguePage";
import { StepPage } from "./pages/steps/StepPage";
import { SecretsPage } from "./pages/secrets/SecretsPage";
import { RunByHandPage } from "./pages/triggers/RunByHandPage";
import { TriggersPage } from "./pages/triggers/TriggersPage";

export function Routes() {
  return (
    <Switch>
      <Route path="/">
        <Redirect to="/flows" />
      </Route>
      <Route path="/flows" component={FlowsPage} />
      <Route path="/flows/new" component={NewFlowPage} />
      <Route path="/flows/:id/versions" component={VersionsPage} />
      <Route path="/flows/:id/triggers" component={TriggersPage} />
      <Route path="/flows/:id/run" component={RunByHandPage} />
      <Route path="/flows/:id" component={FlowBuilderPage} />
      <Route path="/runs" component={RunsPage} />
      <Route path="/runs/:id" component={RunPage} />
      <Route path="/steps" component={CataloguePage} />
      <Route path="/steps/:name" component={StepPage} />
      <Route path="/secrets" component={SecretsPage} />
      <Route>
        <EmptyState title="There is no such page.">
          Pick a section above: Flows, Runs, Catalogue or Secrets.
        </EmptyState>
      </Route>
    </Switch>
  );
}
