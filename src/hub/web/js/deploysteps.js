// deploysteps: how a deployment and its devices are shown (the list and
// the detail page share it).
import { el } from './ui.js';

const stateClass = {
  pending: 'secondary', making: 'info', pushing: 'info', deploying: 'info',
  succeeded: 'success', failed: 'danger',
  waiting: 'secondary', pulling: 'info', starting: 'info', checking: 'info',
  healthy: 'success', 'rolled back': 'warning', skipped: 'secondary',
  redeploying: 'info', unhealthy: 'danger',
};

export function deployBadge(state) {
  return el('span', { class: `badge text-bg-${stateClass[state] || 'secondary'}`, 'data-state': state }, state);
}

export function secs(s) {
  return s === null || s === undefined ? '–' : `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
}

export function done(d) {
  return d.State === 'succeeded' || d.State === 'failed';
}
