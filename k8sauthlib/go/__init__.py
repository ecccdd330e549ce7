"""Go's own rules, written once: what Kubernetes, kubectl and cfssl do because they are Go programs.

- :mod:`.duration`: ``time.ParseDuration`` and ``Duration.String`` (cfssl's ``expiry``, kubeadm's
  ``--validity-period``);
- :mod:`.text`: ``strconv.Quote`` (``%q`` in Go error messages) and ``encoding/json``'s output;
- :mod:`.yaml`: go-yaml v2 as ``sigs.k8s.io/yaml`` drives it (kubeconfig files).

Nothing here imports ``cryptography``.
"""
