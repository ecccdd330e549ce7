"""Causes that the Kubernetes API itself (and the tools around it) names in its refusals: the
CertificateSigningRequest API (``pkg/registry/certificates``, ``plugin/pkg/admission/certificates``,
``pkg/controller/certificates/signer`` of Kubernetes 1.32), RBAC's escalation check
(``pkg/registry/rbac/validation``), kubectl's configuration check (client-go
``tools/clientcmd/validation.go``), cfssl/cfssljson, nginx's bind(), sudo and file permissions.

:data:`HTTP_CAUSES` are the API server's generic refusals: 401 Unauthorized, 403 Forbidden
(anonymous or not), 404 Not Found and a 400 without a reason. :mod:`k8sauthlib.causes` puts
:data:`API_CAUSES` before them, since their signs (``is forbidden: User``) would match these
messages too.
"""

from __future__ import annotations

from .cause_kinds import Cause, Sign

S = Sign  # brevity in the table below

API_CAUSES = (
    Cause(
        "csr-subject-restricted",
        "The CertificateSubjectRestriction admission plugin refused a CSR for the system:masters group",
        "Request a group that RBAC binds to a role instead of system:masters; a member of "
        "system:masters can never lose its rights.",
        "CertificateSubjectRestriction 어드미션 플러그인이 system:masters 그룹을 요청한 CSR을 거절했습니다",
        "system:masters 대신 RBAC로 롤에 묶은 그룹을 요청합니다. system:masters의 구성원은 권한을 거둘 수 없습니다.",
        (
            S(
                "go",
                "signer with system:masters group is not allowed",
                shown=(
                    'certificatesigningrequests.certificates.k8s.io "N" is forbidden: use of '
                    "kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"
                ),
            ),
        ),
    ),
    Cause(
        "csr-approve-forbidden",
        "The user may update CSR approvals but not approve for this signer",
        "Grant the verb 'approve' on the resource 'signers' (API group certificates.k8s.io) with the "
        "signer's name as resourceNames, or ask someone who holds it.",
        "CSR의 승인 상태를 바꿀 권한은 있지만, 이 서명자(signer)의 요청을 승인할 권한이 없습니다",
        "certificates.k8s.io 그룹의 signers 리소스에 대해 'approve' 동사를 서명자 이름(resourceNames)과 "
        "함께 허용받거나, 그 권한이 있는 사람에게 부탁합니다.",
        (
            S(
                "go",
                "user not permitted to approve requests with signerName",
                shown=(
                    'certificatesigningrequests.certificates.k8s.io "N" is forbidden: user not permitted to '
                    'approve requests with signerName "kubernetes.io/kube-apiserver-client"'
                ),
            ),
        ),
    ),
    Cause(
        "csr-signer-rejected",
        "The CSR was approved, but the signer refused to sign it (condition Failed, reason SignerValidationFailure)",
        "Read the Failed condition's message (kubectl get csr N -o yaml): the kube-apiserver-client "
        "signer signs only 'client auth' (with 'digital signature' and 'key encipherment'), never "
        "'server auth' or system:masters. Create a new CSR that it accepts.",
        "CSR은 승인되었지만 서명자가 서명을 거절했습니다(Failed 조건, 이유 SignerValidationFailure)",
        "kubectl get csr N -o yaml로 Failed 조건의 message를 읽습니다. kube-apiserver-client 서명자는 "
        "'client auth'('digital signature', 'key encipherment'와 함께)만 서명하고 'server auth'나 "
        "system:masters는 서명하지 않습니다. 서명자가 받아들이는 CSR을 새로 만듭니다.",
        (
            S(
                "go",
                "SignerValidationFailure",
                shown="Approved,Failed  (status.conditions: type Failed, reason SignerValidationFailure)",
            ),
        ),
    ),
    Cause(
        "csr-expiration-too-short",
        "spec.expirationSeconds is below the API's minimum of 600 seconds (10 minutes)",
        "Ask for at least 600 seconds; the signer may still shorten the certificate to its own "
        "maximum (kube-controller-manager --cluster-signing-duration).",
        "spec.expirationSeconds가 API의 최솟값 600초(10분)보다 작습니다",
        "600초 이상을 요청합니다. 서명자는 자기 최댓값(kube-controller-manager의 "
        "--cluster-signing-duration)으로 줄일 수는 있습니다.",
        (
            S(
                "go",
                "may not specify a duration less than 600 seconds",
                shown=(
                    'The CertificateSigningRequest "N" is invalid: spec.expirationSeconds: Invalid value: 300: '
                    "may not specify a duration less than 600 seconds (10 minutes)"
                ),
            ),
        ),
    ),
    Cause(
        "csr-already-decided",
        "The CSR already carries the opposite decision; Approved and Denied exclude each other",
        "A decision cannot be changed: delete the CSR (kubectl delete csr N) and create it again.",
        "CSR에 이미 반대 결정이 있습니다. Approved와 Denied는 함께 있을 수 없습니다",
        "결정은 바꿀 수 없습니다. CSR을 지우고(kubectl delete csr N) 다시 만듭니다.",
        (
            S("go", "is already Denied", shown='error: certificate signing request "N" is already Denied'),
            S("go", "is already Approved", shown='error: certificate signing request "N" is already Approved'),
        ),
    ),
    Cause(
        "rbac-escalation",
        "RBAC refused to let you grant permissions you do not hold yourself (escalation prevention)",
        "Grant only what you hold, or get the 'bind' verb on that role (or 'escalate' to edit roles) "
        "from an administrator.",
        "자기에게 없는 권한을 남에게 주는 것을 RBAC가 거절했습니다(권한 상승 방지)",
        "자기가 가진 권한만 줍니다. 또는 관리자에게 그 롤에 대한 'bind' 동사(롤을 고치려면 'escalate')를 받습니다.",
        (
            S(
                "go",
                "attempting to grant RBAC permissions not currently held",
                shown=(
                    '… is forbidden: user "jane" (groups=[…]) is attempting to grant RBAC permissions not '
                    "currently held: …"
                ),
            ),
        ),
    ),
    Cause(
        "both-specified",
        "kubectl's flags and the kubeconfig user give two certificates (a file and embedded data)",
        "Use one source: --kubeconfig=/dev/null with --server, --certificate-authority and the "
        "certificate flags, or a kubeconfig user of its own (kubectl config set-credentials "
        "--embed-certs).",
        "kubectl의 플래그와 kubeconfig 사용자가 인증서를 두 번(파일과 내장 데이터) 지정했습니다",
        "한 곳에서만 지정합니다. --kubeconfig=/dev/null에 --server, --certificate-authority와 인증서 "
        "플래그를 함께 주거나, 인증서를 쓰는 사용자를 kubeconfig에 따로 둡니다"
        "(kubectl config set-credentials --embed-certs).",
        (
            S(
                "go",
                "client-cert-data and client-cert are both specified",
                shown=(
                    "Error in configuration: * client-cert-data and client-cert are both specified "
                    "for kubernetes-admin. client-cert-data will override."
                ),
            ),
        ),
    ),
    Cause(
        "cfssl-input-unreadable",
        "cfssl could not read a file it was given (a CA, a key, a config or a CSR), so cfssljson got nothing to parse",
        "Read cfssl's own line before cfssljson's: it names the file (code 1001: a file that "
        "cannot be opened, e.g. a root-only ca.key). cfssljson's 'unexpected end of JSON input' "
        "only follows from it.",
        "cfssl이 받은 파일(CA, 키, 설정, CSR)을 읽지 못해 cfssljson이 읽을 입력이 비었습니다",
        "cfssljson의 줄보다 앞에 있는 cfssl의 줄을 읽습니다. 거기에 파일 이름이 있습니다(코드 1001은 "
        "열 수 없는 파일, 예를 들어 root만 읽을 수 있는 ca.key입니다). cfssljson의 'unexpected end of "
        "JSON input'은 그 결과일 뿐입니다.",
        (
            S("cfssl", '{"code":1001', shown='{"code":1001,"message":"open ca-key.pem: no such file or directory"}'),
            S("cfssl", "Failed to parse input: unexpected end of JSON input"),
        ),
    ),
    Cause(
        "address-in-use",
        "Another process already listens on that port",
        "Stop the other server (ss -ltnp shows which one) or give this one another port.",
        "다른 프로세스가 이미 그 포트에서 연결을 기다리고 있습니다",
        "다른 서버를 멈추거나(ss -ltnp로 어느 프로세스인지 봅니다) 이 서버에 다른 포트를 줍니다.",
        (
            S(
                "nginx-log",
                "(98: Address already in use)",
                shown="[emerg] bind() to 127.0.0.1:8443 failed (98: Address already in use)",
            ),
            S("python", "[Errno 98] Address already in use"),
            S("go", "bind: address already in use"),
        ),
    ),
    Cause(
        "sudo-password",
        "sudo needs a password and has no terminal to ask for it (a notebook cell, a script)",
        "Run sudo -v in a terminal first (sudo remembers it for a while), or allow the commands "
        "without a password in sudoers; the lab mode needs no sudo.",
        "sudo가 비밀번호를 요구하는데 입력받을 터미널이 없습니다(노트북 셀, 스크립트)",
        "먼저 터미널에서 sudo -v를 실행합니다(sudo가 잠시 기억합니다). 또는 sudoers에서 그 명령을 "
        "비밀번호 없이 허용합니다. 랩 모드에는 sudo가 필요 없습니다.",
        (S("shell", "sudo: a password is required"), S("shell", "sudo: a terminal is required to read the password")),
    ),
    Cause(
        "permission-denied",
        "The file is readable only by root (kubeadm writes ca.key, admin.conf and the other keys 0600)",
        "Read it with sudo into a file you create 0600 (umask 077; sudo cat FILE > copy); never "
        "chmod the cluster's own keys.",
        "root만 읽을 수 있는 파일입니다(kubeadm은 ca.key, admin.conf 같은 키 파일을 0600으로 씁니다)",
        "umask 077로 0600 파일을 만들어 sudo로 읽어 넣습니다(sudo cat FILE > 사본). 클러스터의 키 "
        "파일 자체의 권한은 바꾸지 않습니다.",
        (
            S("shell", "Permission denied", shown="cat: /etc/kubernetes/pki/ca.key: Permission denied"),
            S("go", "open /etc/kubernetes/admin.conf: permission denied", pattern=r"open \S+: permission denied"),
            S("python", "PermissionError: [Errno 13] Permission denied"),
        ),
    ),
)

#: The API server's generic refusals (401, 403, 404, 400), after :data:`API_CAUSES`.
HTTP_CAUSES = (
    Cause(
        "unauthorized",
        "The API server did not authenticate the request (401 Unauthorized)",
        "Present a client certificate signed by the cluster CA (/etc/kubernetes/pki/ca.crt, "
        "--client-ca-file), not expired, with 'client auth' usage; the API server log says "
        "'Unable to authenticate the request' with the x509 reason.",
        "API 서버가 요청을 인증하지 못했습니다(401 Unauthorized)",
        "클러스터 CA(/etc/kubernetes/pki/ca.crt, --client-ca-file)가 서명한 클라이언트 인증서를 "
        "보냅니다. 인증서는 만료되지 않았고 'client auth' 용도가 있어야 합니다. 거부한 이유는 API "
        "서버 로그의 'Unable to authenticate the request' 줄에 x509 오류로 남습니다.",
        (
            S(
                "go",
                "error: You must be logged in to the server",
                shown="error: You must be logged in to the server (Unauthorized)",
            ),
            S("http", "401 Unauthorized"),
        ),
    ),
    Cause(
        # before "forbidden": its signs would match this message too
        "anonymous-forbidden",
        "No credential reached the API server: the request ran as system:anonymous and RBAC refused it (403 Forbidden)",
        "Send a client certificate signed by the cluster CA (curl --cert/--key; kubectl: the "
        "user's client-certificate and client-key in the kubeconfig). A certificate without CN "
        "does not help: it names no user.",
        "자격 증명이 API 서버에 닿지 않아 요청이 system:anonymous로 처리되었고, RBAC가 거절했습니다(403 Forbidden)",
        "클러스터 CA가 서명한 클라이언트 인증서를 보냅니다. curl은 --cert와 --key, kubectl은 "
        "kubeconfig 사용자의 client-certificate와 client-key로 지정합니다. CN이 없는 인증서는 "
        "사용자를 나타내지 않으므로 소용이 없습니다.",
        (
            S(
                "go",
                'User "system:anonymous" cannot',
                shown=(
                    'Error from server (Forbidden): pods is forbidden: User "system:anonymous" cannot list '
                    'resource "pods" in API group "" in the namespace "default"'
                ),
            ),
            S("http", '403 Forbidden: User "system:anonymous"', shown='403 Forbidden, User "system:anonymous"'),
        ),
    ),
    Cause(
        "forbidden",
        "Authenticated, but RBAC does not allow the request (403 Forbidden)",
        "Bind a Role/ClusterRole to the user (CN) or to one of its groups (O) with a "
        "RoleBinding/ClusterRoleBinding; check with kubectl auth can-i.",
        "인증은 성공했지만 RBAC가 요청을 허용하지 않습니다(403 Forbidden)",
        "롤바인딩(RoleBinding)이나 클러스터롤바인딩(ClusterRoleBinding)으로 사용자(CN)나 그룹(O)에 "
        "롤을 연결합니다. 허용되는지는 kubectl auth can-i로 확인합니다.",
        (
            S(
                "go",
                "Error from server (Forbidden)",
                shown=(
                    'Error from server (Forbidden): pods is forbidden: User "jane" cannot list resource '
                    '"pods" in API group "" in the namespace "default"'
                ),
            ),
            S("go", "is forbidden: User", shown=""),
            S("http", "403 Forbidden"),
        ),
    ),
    Cause(
        "resource-not-found",
        "The server has no such path: an API group or version this API server does not serve, or a "
        "server that is not an API server at all (404 Not Found)",
        "List what the server serves (kubectl api-versions, kubectl api-resources): a group that is "
        "missing is not enabled on this cluster (a CRD not installed, an API turned off, a version "
        "removed); if nothing is listed, the kubeconfig's server: is not the API server.",
        "서버에 그런 경로가 없습니다. 이 API 서버가 제공하지 않는 API 그룹이나 버전이거나, 서버가 API "
        "서버가 아닙니다(404 Not Found)",
        "서버가 제공하는 것을 봅니다(kubectl api-versions, kubectl api-resources). 목록에 없는 그룹은 이 "
        "클러스터에서 켜지지 않은 것입니다(CRD를 설치하지 않았거나, API를 껐거나, 버전이 제거됨). 아무것도 "
        "나오지 않으면 kubeconfig의 server:가 API 서버가 아닙니다.",
        (
            S(
                "go",
                "the server could not find the requested resource",
                shown="Error from server (NotFound): the server could not find the requested resource",
            ),
        ),
    ),
    Cause(
        "bad-request-from-proxy",
        "The server answered 400 Bad Request without saying why (to kubectl, nginx's TLS error pages look like this)",
        "Look at the page itself (curl, or kubectl get --raw / -v=8): 'No required SSL "
        "certificate was sent' means pass client-certificate/client-key; 'The SSL certificate "
        "error' means use a certificate signed by the server's client CA.",
        "서버가 이유를 밝히지 않고 400 Bad Request로 응답했습니다(kubectl에는 nginx의 TLS 오류 "
        "페이지가 이렇게 보입니다)",
        "curl이나 kubectl get --raw / -v=8로 페이지 내용을 봅니다. 'No required SSL certificate "
        "was sent'라면 client-certificate와 client-key를 지정합니다. 'The SSL certificate error'라면 "
        "서버가 클라이언트용으로 신뢰하는 CA가 서명한 인증서를 씁니다.",
        (S("go", "Error from server (BadRequest): the server rejected our request for an unknown reason"),),
    ),
)

__all__ = ["API_CAUSES", "HTTP_CAUSES"]
