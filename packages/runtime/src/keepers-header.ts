/** `Nats-Rollup: sub`: a keeper replaces the previous keeper on its subject. */
export const KEEPER_ROLLUP = ['Nats-Rollup', 'sub'] as const;
