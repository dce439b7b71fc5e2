import { useMe } from '../client/me.ts';
import { Link, useLocation } from '../router.tsx';

/** The administration pages, linked from each of them; the audit log is for platform and team admins alike. */
export function AdminNav() {
  const me = useMe();
  const { path } = useLocation();
  const link = (href: string, label: string) => (
    <Link href={href} aria-current={path === href ? 'page' : undefined}>
      {label}
    </Link>
  );
  return (
    <nav class="subnav" aria-label="Administration">
      {link('/admin', 'Teams and members')}
      {link('/admin/roles', 'Roles')}
      {link('/admin/audit', 'Audit log')}
      {me?.user.isAdmin && link('/admin/sign-in', 'Sign-in providers')}
    </nav>
  );
}
