"""The Kubernetes side.

- :mod:`.kubeconfig`, :mod:`.kubeconfig_input` and :mod:`.kubeconfig_output`: kubeconfig files, read as
  kubectl reads them and written byte for byte as kubectl writes them;
- :mod:`.kubeadm`: the kubeadm tree (``/etc/kubernetes`` or a lab directory), filled for the lab by :mod:`.labtree`;
- :mod:`.node`: kubeadm's constants and reading root-only files; :mod:`.manifests`: static Pod manifests;
- :mod:`.access`: SelfSubjectAccessReview, the API server's reason for allowing a request;
- :mod:`.expiration`: ``kubeadm certs check-expiration`` for a kubeadm tree;
- :mod:`.user`: ``kubeadm kubeconfig user`` and the ``k8sauthlib kubeconfig`` command, which join the two.
"""
