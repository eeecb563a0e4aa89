-- Forms of luassert that Prosody's specs use, which must pass here as they
-- do under Debian's busted (TestPortableSuitesCountTheSameUnderBusted).
describe("luassert forms", function ()
	it("passes a chain of modifiers only, called: it checks nothing", function ()
		assert.is_(false);
		assert.is(nil);
		assert.is_not_(true);
	end);

	it("reads keys in any case", function ()
		assert.Function(print);
		assert.Is_True(true);
	end);

	it("has error_match in each spelling", function ()
		local function boom() error("it went boom"); end
		assert.has_error_match(boom, "went");
		assert.has.error_match(boom, "boom$");
		assert.error_matches(boom, "^.-it went");
	end);

	it("checks arrays for holes", function ()
		assert.array({ 1, 2, 3 }).has.no.holes();
		assert.array({ 1, nil, 3 }).has.holes();
		assert.array({ 1, 2 }).has.holes(3);
	end);

	it("fails a hole where none is expected", function ()
		assert.array({ 1, nil, 3 }).has.no.holes();
	end);
end);
