import type { BreakerPolicy } from './config-file.js';

interface TargetHealth {
  consecutiveFailures: number;
  openUntil: number;
}

/**
 * Per-target circuit breaker, per gateway process. After `failures` consecutive retryable
 * failures a target is skipped for `cooldownMs`; the first call after the cool-down is a trial:
 * a success closes the circuit, a failure opens it for another cool-down.
 */
export class CircuitBreaker {
  private readonly health = new Map<string, TargetHealth>();

  constructor(
    private readonly policy: BreakerPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** When the target may be called again (0 = now). */
  openUntil(target: string): number {
    const h = this.health.get(target);
    return h && h.openUntil > this.now() ? h.openUntil : 0;
  }

  isOpen(target: string): boolean {
    return this.openUntil(target) > 0;
  }

  recordSuccess(target: string): void {
    this.health.delete(target);
  }

  recordFailure(target: string): void {
    const h = this.health.get(target) ?? { consecutiveFailures: 0, openUntil: 0 };
    h.consecutiveFailures++;
    if (h.consecutiveFailures >= this.policy.failures) h.openUntil = this.now() + this.policy.cooldownMs;
    this.health.set(target, h);
  }
}
