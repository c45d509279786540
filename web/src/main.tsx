import { type JSX, render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, RequestError, token } from "./api.ts";
import { completeSignIn, loadSignIn, type SignInConfig, startSignIn } from "./auth.ts";
import { type Lang, type T, translator } from "./i18n.ts";
import { Approvals } from "./pages/approvals.tsx";
import { Builder } from "./pages/builder.tsx";
import { CampaignDetail, CampaignList } from "./pages/campaigns.tsx";
import { BranchDesk, PlansPage, RewardsPage } from "./pages/desk.tsx";
import { FunnelPage } from "./pages/funnel.tsx";
import { Lookup } from "./pages/lookup.tsx";
import { BooksPage, IndicatorsPage, PerformancePage } from "./pages/performance.tsx";
import { Schedules } from "./pages/schedules.tsx";
import { TaskDetail, TaskList } from "./pages/tasks.tsx";
import "./styles.css";

export interface Me {
  userId: string;
  role: "marketer" | "approver" | "analyst" | "admin" | "rm" | "branch_manager";
  branchId?: string;
  /** The bank's zone (its quiet hours' zone): every date is shown in it. */
  timeZone?: string;
  /** The bank's tier schemes, tier names lowest first: the builder's scheme and tier choices. */
  tierSchemes?: Record<string, string[]>;
  /** The bank's large-CD threshold (CNY): what cdMaturingWithinDays counts. */
  largeCdMin?: number;
}

export interface PageProps {
  t: T;
  me: Me;
  go: (hash: string) => void;
}

function useHash() {
  const [hash, setHash] = useState(location.hash || "#/campaigns");
  useEffect(() => {
    const on = () => setHash(location.hash || "#/campaigns");
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function SignIn({
  t,
  onDone,
  sso,
  failure,
}: {
  t: T;
  onDone: (me: Me) => void;
  sso?: SignInConfig;
  failure?: string;
}) {
  const [value, setValue] = useState("");
  const [error, setError] = useState(failure ?? "");
  // On AWS the bank's sign-in page (Cognito's hosted domain, or the bank IdP in AWS China).
  if (sso)
    return (
      <div class="card signin">
        <h1>{t("title")}</h1>
        <button type="button" onClick={() => void startSignIn(sso)}>
          {t("signIn")}
        </button>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </div>
    );
  const submit = async (e: Event) => {
    e.preventDefault();
    token.set(value.trim());
    try {
      onDone(await api<Me>("GET", "/api/me"));
    } catch (err) {
      token.clear();
      setError(err instanceof RequestError ? err.message : String(err));
    }
  };
  return (
    <form class="card signin" onSubmit={submit}>
      <h1>{t("title")}</h1>
      <label for="token">{t("token")}</label>
      <input
        id="token"
        type="password"
        autoComplete="off"
        value={value}
        onInput={(e) => setValue(e.currentTarget.value)}
      />
      <p class="hint">{t("tokenHelp")}</p>
      <button type="submit">{t("signIn")}</button>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </form>
  );
}

function App() {
  const [lang, setLang] = useState<Lang>((localStorage.getItem("tiercast.lang") as Lang) || "zh");
  const [me, setMe] = useState<Me | undefined>();
  const [checked, setChecked] = useState(false);
  const hash = useHash();
  const t = translator(lang, me?.timeZone);
  useEffect(() => {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    localStorage.setItem("tiercast.lang", lang);
  }, [lang]);
  const [sso, setSso] = useState<SignInConfig | undefined>();
  const [failure, setFailure] = useState<string | undefined>();
  useEffect(() => {
    void (async () => {
      const config = await loadSignIn();
      setSso(config);
      if (config)
        try {
          const idToken = await completeSignIn(config);
          if (idToken) token.set(idToken);
        } catch (err) {
          setFailure(String((err as Error).message));
        }
      if (token.get()) await api<Me>("GET", "/api/me").then(setMe, () => token.clear());
      setChecked(true);
    })();
  }, []);
  const go = (h: string) => {
    location.hash = h;
  };
  if (!checked) return null;
  if (!me)
    return (
      <main id="main">
        <SignIn t={t} onDone={setMe} {...(sso ? { sso } : {})} {...(failure ? { failure } : {})} />
      </main>
    );
  const [, section, id, sub] = hash.replace(/^#/, "").split("/");
  const props: PageProps = { t, me, go };
  // The RM's workbench is their whole console; the branch manager adds the branch's desk and the contact
  // plan; head office's admin sees them beside the marketing pages, with the referral rewards.
  const field = me.role === "rm" || me.role === "branch_manager";
  // Performance and indicators for everyone (in their scope); books for those who run the rules.
  const perfNav: [string, string][] = [
    ["#/performance", t("performance")],
    ["#/indicators", t("indicators")],
    ...(me.role === "admin" || me.role === "branch_manager"
      ? ([["#/books", t("books")]] as [string, string][])
      : []),
  ];
  const manager = me.role === "branch_manager" || me.role === "admin";
  const rewardsRole = me.role === "marketer" || me.role === "analyst" || me.role === "admin";
  const deskNav: [string, string][] = [
    ["#/tasks", t("tasks")],
    ...(manager
      ? ([
          ["#/branch", t("branchDesk")],
          ["#/plans", t("contactPlan")],
        ] as [string, string][])
      : []),
  ];
  // Only makers build campaigns: an approver or analyst gets no builder, and a typed-in link says why.
  const maker = me.role === "marketer" || me.role === "admin";
  const nav: [string, string][] = field
    ? [...deskNav, ...perfNav]
    : [
        ["#/campaigns", t("campaigns")],
        ...(maker ? ([["#/new", t("newCampaign")]] as [string, string][]) : []),
        ["#/approvals", t("approvals")],
        ["#/funnel", t("funnel")],
        ["#/lookup", t("lookup")],
        ["#/schedules", t("schedules")],
        ...(rewardsRole ? ([["#/rewards", t("rewards")]] as [string, string][]) : []),
        ...(me.role === "admin" ? deskNav : []),
        ...perfNav,
      ];
  let page: JSX.Element;
  if (section === "task" && id) page = <TaskDetail {...props} taskId={decodeURIComponent(id)} />;
  else if (section === "branch" && manager) page = <BranchDesk {...props} />;
  else if (section === "plans" && manager)
    page = <PlansPage {...props} {...(id ? { month: decodeURIComponent(id) } : {})} />;
  else if (section === "rewards" && rewardsRole) page = <RewardsPage {...props} />;
  else if (section === "performance")
    page = (
      <PerformancePage
        {...props}
        {...(id ? { branchId: decodeURIComponent(id) } : {})}
        {...(sub ? { rmId: decodeURIComponent(sub) } : {})}
      />
    );
  else if (section === "indicators") page = <IndicatorsPage {...props} />;
  else if (section === "books" && (me.role === "admin" || me.role === "branch_manager"))
    page = <BooksPage {...props} />;
  else if (field || section === "tasks") page = <TaskList {...props} />;
  else if ((section === "new" || section === "edit") && !maker)
    page = (
      <p role="alert" class="error">
        {t("makersOnly")}
      </p>
    );
  else if (section === "new") page = <Builder {...props} />;
  else if (section === "edit" && id) page = <Builder {...props} campaignId={decodeURIComponent(id)} />;
  else if (section === "campaign" && id)
    page = <CampaignDetail {...props} campaignId={decodeURIComponent(id)} />;
  else if (section === "approvals") page = <Approvals {...props} />;
  else if (section === "funnel")
    page = <FunnelPage {...props} campaignId={id ? decodeURIComponent(id) : undefined} />;
  else if (section === "lookup") page = <Lookup {...props} />;
  else if (section === "schedules") page = <Schedules {...props} />;
  else page = <CampaignList {...props} />;
  return (
    <>
      <header>
        <strong>{t("title")}</strong>
        <nav aria-label="main">
          {nav.map(([href, label]) => (
            <a key={href} href={href} aria-current={hash.startsWith(href) ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who">
          {me.userId} · {me.role}
          {me.branchId ? ` · ${me.branchId}` : ""}
        </span>
        <button type="button" class="link" onClick={() => setLang(lang === "zh" ? "en" : "zh")}>
          {t("language")}
        </button>
        <button
          type="button"
          class="link"
          onClick={() => {
            token.clear();
            setMe(undefined);
          }}
        >
          {t("signOut")}
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
