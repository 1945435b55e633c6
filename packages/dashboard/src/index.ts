export {
  startDashboard,
  DEFAULT_DASHBOARD_PORT,
  type Dashboard,
  type DashboardOptions,
  type DashboardConfig,
} from './server.js';
export * as series from './series.js';
