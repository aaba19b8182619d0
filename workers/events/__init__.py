"""Events: EventBridge-style patterns, buses, rules, delivery and schedules."""
