export type Lang = "zh" | "en";

const STRINGS = {
  title: ["Tiercast 分层营销", "Tiercast campaigns"],
  signIn: ["登录", "Sign in"],
  token: ["访问令牌", "Access token"],
  tokenHelp: ["由管理员用 tiercast users add 发放", "Issued by an admin with tiercast users add"],
  signOut: ["退出", "Sign out"],
  campaigns: ["活动", "Campaigns"],
  newCampaign: ["新建活动", "New campaign"],
  approvals: ["待审批", "Approvals"],
  funnel: ["漏斗", "Funnel"],
  lookup: ["客户查询", "Recipient lookup"],
  schedules: ["定时计划", "Schedules"],
  status: ["状态", "Status"],
  version: ["版本", "Version"],
  playbook: ["剧本", "Playbook"],
  tiers: ["层级", "Tiers"],
  name: ["名称", "Name"],
  campaignId: ["活动编号", "Campaign ID"],
  holdout: ["对照组 %", "Holdout %"],
  variant: ["版本组", "Variant"],
  channel: ["渠道", "Channel"],
  template: ["模板", "Template"],
  subject: ["邮件主题", "Subject"],
  landing: ["落地页 (https)", "Landing page (https)"],
  addVariant: ["添加版本组", "Add variant"],
  preview: ["预览", "Preview"],
  audience: ["目标人数", "Audience"],
  eligible: ["可触达", "Eligible"],
  excluded: ["排除", "Excluded"],
  reasons: ["排除原因", "Exclusion reasons"],
  samples: ["示例消息", "Sample messages"],
  parts: ["短信条数", "SMS parts"],
  save: ["保存草稿", "Save draft"],
  submit: ["提交审批", "Submit"],
  approve: ["批准", "Approve"],
  reject: ["驳回", "Reject"],
  launch: ["发布", "Launch"],
  pause: ["暂停", "Pause"],
  resume: ["恢复", "Resume"],
  cancel: ["取消", "Cancel"],
  audit: ["审计记录", "Audit trail"],
  intact: ["哈希链完整", "hash chain intact"],
  broken: ["哈希链被破坏", "hash chain BROKEN"],
  uplift: ["提升 (95% 置信区间)", "Uplift (95% CI)"],
  byDay: ["按日趋势", "By day"],
  targets: ["目标与实际", "Targets vs actuals"],
  export: ["导出台账 CSV", "Export ledger CSV"],
  customerId: ["客户号", "Customer ID"],
  search: ["查询", "Search"],
  decision: ["决定", "Decision"],
  reason: ["原因", "Reason"],
  at: ["时间", "At"],
  none: ["无", "None"],
  saved: ["已保存", "Saved"],
  errorPrefix: ["错误", "Error"],
  nothingToApprove: ["没有待审批的活动", "Nothing waiting for approval"],
  language: ["English", "中文"],
  cron: ["Cron（北京时间）", "Cron (Asia/Shanghai)"],
  nextRun: ["下次运行", "Next run"],
  treated: ["实验组转化率", "Treated rate"],
  control: ["对照组转化率", "Holdout rate"],
  tier: ["层级", "Tier"],
  stage: ["阶段", "Stage"],
  period: ["周期", "Period"],
  target: ["目标", "Target"],
  actual: ["实际", "Actual"],
  progress: ["进度", "Progress"],
} as const;

export type Key = keyof typeof STRINGS;

export const STAGE_NAMES: Record<string, [string, string]> = {
  targeted: ["目标", "targeted"],
  eligible: ["可触达", "eligible"],
  sent: ["已发送", "sent"],
  delivered: ["已送达", "delivered"],
  engaged: ["已互动", "engaged"],
  responded: ["已响应", "responded"],
  converted: ["已转化", "converted"],
};

/** The bank's zone: schedules run and quiet hours are judged in it, so the console shows times in it too. */
export const BANK_TIME_ZONE = "Asia/Shanghai";

export function translator(lang: Lang) {
  const i = lang === "zh" ? 0 : 1;
  // An explicit locale: the browser's default can be a tag Intl rejects (`en-US@posix` under LANG=C).
  const dates = new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", {
    timeZone: BANK_TIME_ZONE,
    dateStyle: "medium",
    timeStyle: "short",
  });
  return Object.assign((key: Key) => STRINGS[key][i], {
    lang,
    stage: (s: string) => STAGE_NAMES[s]?.[i] ?? s,
    date: (iso: string | number | Date) => dates.format(new Date(iso)),
  });
}
export type T = ReturnType<typeof translator>;
