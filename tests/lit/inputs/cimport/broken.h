/* A header with a mistake on its line 3. */
struct broken {
  uint32_t len = 4;
};
