import { describe, expect, it } from "vitest";
import {
  aliyunCanonicalQuery,
  aliyunPercentEncode,
  aliyunSignature,
  aliyunStringToSign,
  tc3Sign,
} from "#functions/dispatch/signing.ts";

// The vendors' own worked examples: an external reference, not our implementation checking itself.
describe("Alibaba Cloud signature v1 (HMAC-SHA1)", () => {
  // "Request signatures" (RPC), DescribeRegions with AccessKeySecret `testsecret`.
  const describeRegions = {
    Timestamp: "2016-02-23T12:46:24Z",
    Format: "XML",
    AccessKeyId: "testid",
    Action: "DescribeRegions",
    SignatureMethod: "HMAC-SHA1",
    SignatureNonce: "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    Version: "2014-05-26",
    SignatureVersion: "1.0",
  };

  it("builds the documented string to sign (timestamp colons encoded twice)", () => {
    expect(aliyunStringToSign("GET", describeRegions)).toBe(
      "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML" +
        "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf" +
        "%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26",
    );
  });

  it("matches the documented DescribeRegions signature", () => {
    expect(aliyunSignature("GET", describeRegions, "testsecret")).toBe("OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
  });

  it("matches the SMS documentation's SendSms example (Chinese SignName, JSON TemplateParam)", () => {
    const sendSms = {
      AccessKeyId: "testId",
      Action: "SendSms",
      Format: "XML",
      OutId: "123",
      PhoneNumbers: "15300000001",
      RegionId: "cn-hangzhou",
      SignName: "阿里云短信测试专用",
      SignatureMethod: "HMAC-SHA1",
      SignatureNonce: "45e25e9b-0a6f-4070-8c85-2956eda1b466",
      SignatureVersion: "1.0",
      TemplateCode: "SMS_71390007",
      TemplateParam: '{"customer":"test"}',
      Timestamp: "2017-07-12T02:42:19Z",
      Version: "2017-05-25",
    };
    expect(aliyunCanonicalQuery(sendSms)).toContain(
      "SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8",
    );
    expect(aliyunSignature("GET", sendSms, "testSecret")).toBe("zJDF+Lrzhj/ThnlvIToysFRq6t4=");
  });

  it("percent-encodes what encodeURIComponent leaves alone, and keeps ~", () => {
    expect(aliyunPercentEncode("a b*c~d!'()")).toBe("a%20b%2Ac~d%21%27%28%29");
  });

  it("leaves Signature itself out of what is signed", () => {
    const signed = { ...describeRegions, Signature: "anything" };
    expect(aliyunSignature("GET", signed, "testsecret")).toBe("OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
  });
});

describe("Tencent Cloud TC3-HMAC-SHA256", () => {
  // API 3.0 "Signature v3": DescribeInstances on cvm, POST, timestamp 1551113065.
  const example = tc3Sign({
    secretId: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
    secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
    service: "cvm",
    headers: { "Content-Type": "application/json; charset=utf-8", Host: "cvm.tencentcloudapi.com" },
    payload: '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}',
    timestamp: 1551113065,
  });

  it("builds the documented canonical request", () => {
    expect(example.canonicalRequest).toBe(
      [
        "POST",
        "/",
        "",
        "content-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n",
        "content-type;host",
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
      ].join("\n"),
    );
  });

  it("builds the documented string to sign (UTC date in the scope)", () => {
    expect(example.stringToSign).toBe(
      "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031",
    );
  });

  it("matches the documented signature and Authorization header", () => {
    expect(example.signature).toBe("72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
    expect(example.authorization).toBe(
      "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, " +
        "SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
    );
  });
});
