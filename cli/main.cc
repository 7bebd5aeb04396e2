// Placeholder until the CLI lands in this same change.
int main() { return 2; }
