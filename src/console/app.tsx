import { Link, Redirect, Route, Switch, useLocation } from "wouter";
import { AccountPage } from "./pages/account.js";
import { BillingPage } from "./pages/billing.js";
import { JobPage } from "./pages/job.js";
import { JobsPage } from "./pages/jobs.js";
import { NodesPage } from "./pages/nodes.js";
import { OverviewPage } from "./pages/overview.js";
import { ProviderPage } from "./pages/provider.js";
import { SignInPage } from "./pages/sign-in.js";
import { SubmitPage } from "./pages/submit.js";
import { sessionEndText, useSession } from "./session.js";

const NAV = [
  ["/", "Overview"],
  ["/jobs", "Jobs"],
  ["/submit", "Submit"],
  ["/nodes", "Nodes"],
  ["/billing", "Billing"],
  ["/provider", "Provider"],
  ["/account", "Account"],
] as const;

function Nav() {
  const [location] = useLocation();
  const { signOut, expiresAt } = useSession();
  return (
    <header className="top">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <Link href="/" className="brand">
        Meridian
      </Link>
      <nav aria-label="Main">
        <ul>
          {NAV.map(([href, label]) => {
            const current = href === "/" ? location === "/" : location.startsWith(href);
            return (
              <li key={href}>
                <Link href={href} aria-current={current ? "page" : undefined}>
                  {label}
                </Link>
              </li>
            );
          })}
          <li>
            <a href="/docs/">API</a>
          </li>
        </ul>
      </nav>
      {expiresAt ? (
        <span className="muted" data-testid="session-ends">
          Wallet session ends at {sessionEndText(expiresAt)}{" "}
          <button
            type="button"
            className="link"
            onClick={() => signOut("Sign in again with your wallet to start a new session.")}
          >
            Sign in again
          </button>
        </span>
      ) : null}
      <button type="button" className="link" onClick={() => signOut()}>
        Sign out
      </button>
    </header>
  );
}

export function App() {
  const { apiKey } = useSession();
  if (!apiKey) {
    return (
      <main id="main" className="narrow">
        <SignInPage />
      </main>
    );
  }
  return (
    <>
      <Nav />
      <main id="main">
        <Switch>
          <Route path="/" component={OverviewPage} />
          <Route path="/jobs" component={JobsPage} />
          <Route path="/jobs/:id">{(params) => <JobPage id={params.id} />}</Route>
          <Route path="/submit" component={SubmitPage} />
          <Route path="/nodes" component={NodesPage} />
          <Route path="/billing" component={BillingPage} />
          <Route path="/provider" component={ProviderPage} />
          <Route path="/account" component={AccountPage} />
          <Route path="/sign-in">
            <Redirect to="/" />
          </Route>
          <Route>
            <p>
              No such page. <Link href="/">Back to the overview</Link>
            </p>
          </Route>
        </Switch>
      </main>
    </>
  );
}
