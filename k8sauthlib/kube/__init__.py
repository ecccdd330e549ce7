"""The Kubernetes side: kubeconfig files and the kubeadm certificate tree."""
