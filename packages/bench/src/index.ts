export { SCENARIO, type SideResult } from './scenarios.js';
export { runJetsched } from './jetsched-side.js';
export { runBullmq } from './bullmq-side.js';
