// payment.js — a simulated payment provider, the way real ones behave where
// the checkout depends on it: a charge is keyed (the same key charges once and
// answers the same again), it takes a while, it can be declined, and a charge
// can be refunded.
import { setTimeout as sleep } from 'node:timers/promises';

// simulatedPayment({decline(request) -> bool, delayMs}): the provider; its
// `charges` and `refunds` let a test see what happened to the money.
export function simulatedPayment({ decline = () => false, delayMs = 0 } = {}) {
  const charges = new Map();
  const refunds = [];
  return {
    charges,
    refunds,
    async charge(request) {
      if (delayMs) await sleep(delayMs);
      if (!charges.has(request.key)) {
        const ok = !decline(request);
        charges.set(request.key, { id: `ch_${charges.size + 1}`, ok, amount: request.amount, reservationId: request.reservationId });
      }
      return charges.get(request.key);
    },
    async refund(charge) {
      if (charge.ok && !refunds.includes(charge.id)) refunds.push(charge.id);
    },
  };
}
