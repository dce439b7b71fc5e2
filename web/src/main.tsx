import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { resetMe } from './client/me.ts';
import { session } from './client/session.ts';
import { Layout } from './components/Layout.tsx';
import { AccountPage } from './pages/Account.tsx';
import { AdminPage } from './pages/Admin.tsx';
import { AuditPage } from './pages/Audit.tsx';
import { RolesPage } from './pages/Roles.tsx';
import { CostsPage } from './pages/Costs.tsx';
import { MetricsPage } from './pages/Metrics.tsx';
import { AlertPage } from './pages/alerts/AlertPage.tsx';
import { AlertsPage } from './pages/alerts/AlertsPage.tsx';
import { OnCallPage } from './pages/alerts/OnCallPage.tsx';
import { PoliciesPage } from './pages/alerts/PoliciesPage.tsx';
import { DeployHistoryPage } from './pages/DeployHistory.tsx';
import { AuthProvidersPage } from './pages/AuthProviders.tsx';
import { IntegrationsPage } from './pages/Integrations.tsx';
import { LoginPage } from './pages/Login.tsx';
import { RunPage } from './pages/Run.tsx';
import { RunsPage } from './pages/Runs.tsx';
import { SchedulesPage } from './pages/Schedules.tsx';
import { StartRunPage } from './pages/StartRun.tsx';
import { applyTheme, themePref } from './prefs.ts';
import { navigate, useLocation } from './router.tsx';
import './styles.css';

applyTheme(themePref.read());

function Routes() {
  const { path } = useLocation();
  // Move focus to the new page's content, so keyboard and screen-reader users start there.
  useEffect(() => document.getElementById('main')?.focus({ preventScroll: true }), [path]);
  const run = /^\/runs\/([0-9a-f-]{36})$/i.exec(path);
  const alert = /^\/alerts\/([0-9a-f-]{36})$/i.exec(path);
  if (path === '/runs/new') return <StartRunPage />;
  if (run) return <RunPage id={run[1]!} key={run[1]} />;
  if (path === '/admin') return <AdminPage />;
  if (path === '/admin/sign-in') return <AuthProvidersPage />;
  if (path === '/admin/roles') return <RolesPage />;
  if (path === '/admin/audit') return <AuditPage />;
  if (path === '/integrations') return <IntegrationsPage />;
  if (path === '/schedules') return <SchedulesPage />;
  if (path === '/costs') return <CostsPage />;
  if (path === '/metrics') return <MetricsPage />;
  if (path === '/alerts') return <AlertsPage />;
  if (path === '/alerts/policies') return <PoliciesPage />;
  if (alert) return <AlertPage id={alert[1]!} key={alert[1]} />;
  if (path === '/oncall') return <OnCallPage />;
  if (path === '/account') return <AccountPage />;
  if (path === '/deploys') return <DeployHistoryPage />;
  if (path === '/' || path === '/login') return <RunsPage />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        Nothing lives at <code>{path}</code>.
      </p>
    </section>
  );
}

function App() {
  const [user, setUser] = useState(session.user);
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(
    () =>
      session.subscribe((reason) => {
        resetMe();
        setUser(session.user);
        if (reason) setNotice(reason);
        else if (location.pathname === '/login') navigate('/', true);
      }),
    [],
  );
  if (!user) return <LoginPage notice={notice} />;
  return (
    <Layout key={user.id}>
      <Routes />
    </Layout>
  );
}

render(<App />, document.getElementById('app')!);
