import { describe, expect, it } from "vitest";
import { catalogVersion } from "../../../src/config/price-catalog.js";

describe("price catalog", () => {
  it("reports its version with the date its prices are from (update CATALOG_RELEASE_DATES when bumping it)", async () => {
    expect(await catalogVersion()).toMatch(
      /^@pydantic\/genai-prices \d+\.\d+\.\d+ \(prices as of \d{4}-\d{2}-\d{2}\)$/,
    );
  });
});
