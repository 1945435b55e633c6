/** The page: connect (asking for credentials when the server wants some), then the views by route. */
import { useEffect, useState } from 'preact/hooks';
import { createClient } from '@jetsched/client';
import { names } from '@jetsched/protocol';
import {
  connectCluster,
  isAuthError,
  loadConfig,
  saveLogin,
  savedLogin,
  type DashboardConfig,
  type Login,
} from './connection.js';
import { ClusterContext, parseRoute, type Cluster, type Route } from './context.js';
import { LoginForm } from './login.js';
import { Overview } from './views/overview.js';
import { Groups } from './views/groups.js';
import { Tasks } from './views/tasks.js';
import { TaskView } from './views/task.js';
import { DeadLetters } from './views/dead-letters.js';
import { Schedules } from './views/schedules.js';

type Phase =
  | { kind: 'connecting' }
  | { kind: 'login'; reason: string | undefined }
  | { kind: 'failed'; reason: string }
  | { kind: 'ready'; cluster: Cluster };

const NAV: [string, string][] = [
  ['overview', 'Overview'],
  ['groups', 'Groups'],
  ['tasks', 'Tasks'],
  ['dlq', 'Dead letters'],
  ['schedules', 'Schedules'],
];

export function App() {
  const [config, setConfig] = useState<DashboardConfig | undefined>(undefined);
  const [phase, setPhase] = useState<Phase>({ kind: 'connecting' });
  const [route, setRoute] = useState<Route>(parseRoute(location.hash));
  const [status, setStatus] = useState('connected');

  useEffect(() => {
    const on = (): void => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);

  const connect = async (cfg: DashboardConfig, login: Login): Promise<void> => {
    setPhase({ kind: 'connecting' });
    try {
      const nc = await connectCluster(cfg, login);
      performance.mark('jetsched:connected');
      saveLogin(login);
      void (async () => {
        for await (const s of nc.status()) {
          if (s.type === 'disconnect') setStatus('disconnected: reconnecting');
          else if (s.type === 'reconnect') setStatus('connected');
        }
      })();
      setPhase({
        kind: 'ready',
        cluster: { nc, client: createClient(nc, { prefix: cfg.prefix }), names: names(cfg.prefix) },
      });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (isAuthError(err)) setPhase({ kind: 'login', reason: login.kind === 'none' ? undefined : reason });
      else setPhase({ kind: 'failed', reason });
    }
  };

  useEffect(() => {
    loadConfig()
      .then((cfg) => {
        setConfig(cfg);
        return connect(cfg, savedLogin());
      })
      .catch((err: unknown) => setPhase({ kind: 'failed', reason: String(err) }));
  }, []);

  const section = route.path[0] ?? 'overview';
  return (
    <div class="shell">
      <header>
        <a class="brand" href="#/overview">
          jetsched
        </a>
        <nav>
          {NAV.map(([id, label]) => (
            <a href={`#/${id}`} class={section === id || (id === 'tasks' && section === 'task') ? 'on' : ''}>
              {label}
            </a>
          ))}
        </nav>
        <span class="conn" data-testid="connection">
          {phase.kind === 'ready'
            ? `${status} · ${config?.servers.join(', ')} · ${config?.prefix}`
            : phase.kind}
        </span>
      </header>
      <main>
        {phase.kind === 'connecting' && <p class="muted">Connecting to NATS…</p>}
        {phase.kind === 'failed' && (
          <p class="error">
            Cannot reach NATS at {config?.servers.join(', ')}: {phase.reason}
          </p>
        )}
        {phase.kind === 'login' && config && (
          <LoginForm reason={phase.reason} onLogin={(l) => void connect(config, l)} />
        )}
        {phase.kind === 'ready' && (
          <ClusterContext.Provider value={phase.cluster}>
            <View route={route} />
          </ClusterContext.Provider>
        )}
      </main>
    </div>
  );
}

function View({ route }: { route: Route }) {
  const [section, id] = route.path;
  switch (section ?? 'overview') {
    case 'groups':
      return <Groups selected={id} />;
    case 'tasks':
      return <Tasks query={route.query} />;
    case 'task':
      return id ? <TaskView id={id} /> : <Tasks query={route.query} />;
    case 'dlq':
      return <DeadLetters selected={id === undefined ? undefined : Number(id)} />;
    case 'schedules':
      return <Schedules />;
    default:
      return <Overview />;
  }
}
