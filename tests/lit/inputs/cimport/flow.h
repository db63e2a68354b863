/* A header found with -I. */
struct flow {
  uint32_t saddr;
  uint32_t daddr;
  uint16_t sport, dport;
};
