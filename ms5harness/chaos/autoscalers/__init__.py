"""HorizontalPodAutoscaler activities: reset an HPA's state, step the floor's load until it scales out."""
