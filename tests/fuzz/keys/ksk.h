/* generated from ksk.key by tests/fuzz/mkseeds; do not edit */
#define FUZZ_KSK_DNSKEY "child.test. IN DNSKEY 257 3 13 woXdmNevNLptL8PKOnLxkjVoA6IWFQc83yGrjtkCYz915+BMOWRjDsT/uZbz6M4lJMGoBOg5rlxhX2EqraOQ0A=="
