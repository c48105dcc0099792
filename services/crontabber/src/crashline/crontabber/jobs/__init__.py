"""The jobs, one module each; ``crashline.crontabber.registry`` lists them with their
schedules."""
