using Sluice.Service.Auth;

namespace Sluice.Service.Tests;

public class TokenSetTests
{
    private readonly TokenSet _tokens = new(["alpha-token", "  beta-token  ", ""]);

    [Theory]
    [InlineData("Bearer alpha-token")]
    [InlineData("Bearer beta-token")]
    [InlineData("bearer alpha-token")]
    [InlineData("Bearer   alpha-token  ")]
    public void Accepts_AGivenToken_IsAccepted(string header) => Assert.True(_tokens.Accepts(header));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Bearer alpha-toke")]
    [InlineData("Bearer alpha-token2")]
    [InlineData("Basic alpha-token")]
    [InlineData("alpha-token")]
    public void Accepts_AnythingElse_IsRefused(string? header) => Assert.False(_tokens.Accepts(header));

    [Fact]
    public void Count_BlankLines_AreNotTokens() => Assert.Equal(2, _tokens.Count);

    [Fact]
    public void Accepts_NoTokensConfigured_RefusesEverything() => Assert.False(new TokenSet([]).Accepts("Bearer "));
}
