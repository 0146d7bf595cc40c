// Every page of the console, by hash route (`/#/flows/flw_...`). One line per page.
import { Redirect, Route, Switch } from "wouter";
import { EmptyState } from "./components/EmptyState";
import { FlowsPage } from "./pages/flows/FlowsPage";
import { RunsPage } from "./pages/runs/RunsPage";
import { CataloguePage } from "./pages/steps/CataloguePage";
import { SecretsPage } from "./pages/secrets/SecretsPage";

export function Routes() {
  return (
    <Switch>
      <Route path="/">
        <Redirect to="/flows" />
      </Route>
      <Route path="/flows" component={FlowsPage} />
      <Route path="/runs" component={RunsPage} />
      <Route path="/steps" component={CataloguePage} />
      <Route path="/secrets" component={SecretsPage} />
      <Route>
        <EmptyState title="There is no such page.">
          Pick a section above: Flows, Runs, Catalogue or Secrets.
        </EmptyState>
      </Route>
    </Switch>
  );
}
