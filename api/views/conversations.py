"""/api conversations: list, create, get, change, delete, bulk delete, a project's list."""

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.schema import (
    CONV_ID,
    CONVERSATION_EXAMPLE,
    CONVERSATION_RESPONSE_EXAMPLE,
    PAGE_EXAMPLE,
    PROJ_ID,
    REPLY_EXAMPLE,
    USER_MESSAGE_EXAMPLE,
    error_responses,
)
from api.serializers import (
    BulkDeleteIn,
    BulkDeleteOut,
    ConversationDetailOut,
    ConversationIn,
    ConversationOut,
    ConversationPageOut,
    ConversationUpdateIn,
    ListQuery,
    ProjectConversationsQuery,
    ThreadQuery,
    parse,
)
from conversations import selectors, services
from organise.bulk import conversations_bulk_delete
from organise.search import conversation_search
from projects.selectors import project_get_for_user


def project_for_user(user, public_id: str | None):
    """Return the user's project for an input field, or None; a bad id is a field error."""
    if not public_id:
        return None
    try:
        return project_get_for_user(user=user, public_id=public_id)
    except Http404:
        raise serializers.ValidationError({"project": ["No such project."]}) from None


def conversation_page_response(page: selectors.Page) -> Response:
    # One query for every row's project id, whatever the page size.
    prefetch_related_objects(page.items, "project")
    return Response(
        ConversationPageOut(
            {"data": page.items, "has_more": page.has_more, "next_after": page.next_cursor}
        ).data
    )


def conversation_page(*, user, query: dict, project=None) -> selectors.Page:
    """Return the page a list query asks for (the best search matches when it has `q`)."""
    if query.get("q"):
        # Ranked by relevance: one page of the best matches, no cursor.
        if query.get("after"):
            raise serializers.ValidationError({"after": ["Search results have no next page."]})
        results = conversation_search(
            user=user,
            query=query["q"],
            project=project,
            archived=query["archived"],
            pinned=query["pinned"],
            limit=query["limit"],
        )
        return selectors.Page(items=[r.conversation for r in results], next_cursor=None)
    try:
        return selectors.conversation_list_for_sidebar(
            user=user,
            cursor=query.get("after"),
            limit=query["limit"],
            archived=query["archived"],
            pinned=query["pinned"],
            project=project,
        )
    except selectors.InvalidCursor:
        raise serializers.ValidationError({"after": ["Invalid cursor."]}) from None


class ConversationListView(APIView):
    @extend_schema(
        operation_id="conversations_list",
        summary="List your conversations, most recent activity first",
        parameters=[ListQuery],
        responses={200: ConversationPageOut, **error_responses(400)},
        examples=[PAGE_EXAMPLE],
    )
    def get(self, request):
        query = parse(ListQuery, request.query_params.dict())
        project = project_for_user(request.user, query.get("project"))
        return conversation_page_response(
            conversation_page(user=request.user, query=query, project=project)
        )

    @extend_schema(
        operation_id="conversations_create",
        summary="Create an empty conversation",
        request=ConversationIn,
        responses={201: ConversationOut, **error_responses(400, 413, 429)},
        examples=[
            OpenApiExample(
                "New conversation",
                value={"title": "Trip to Lisbon", "project": PROJ_ID, "metadata": {"k": "v"}},
                request_only=True,
            ),
            CONVERSATION_RESPONSE_EXAMPLE,
        ],
    )
    def post(self, request):
        data = parse(ConversationIn, request.data)
        conversation = services.conversation_create(
            owner=request.user,
            title=data.get("title", ""),
            project=project_for_user(request.user, data.get("project")),
            metadata=data.get("metadata"),
        )
        return Response(ConversationOut(conversation).data, status=status.HTTP_201_CREATED)


class ConversationDetailView(APIView):
    @extend_schema(
        operation_id="conversations_retrieve",
        summary="Get a conversation with its active branch's messages (newest page)",
        parameters=[ThreadQuery],
        responses={200: ConversationDetailOut, **error_responses(400, 404)},
        examples=[
            OpenApiExample(
                "Conversation with messages",
                value={
                    **CONVERSATION_EXAMPLE,
                    "messages": [USER_MESSAGE_EXAMPLE, REPLY_EXAMPLE],
                    "has_older": False,
                    "older_before": None,
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, public_id):
        conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
        query = parse(ThreadQuery, request.query_params.dict())
        before = None
        if query.get("before"):
            before = selectors.message_get_for_user(
                user=request.user, public_id=query["before"], conversation=conversation
            )
        thread = selectors.message_thread(
            conversation=conversation, before=before, limit=query["limit"]
        )
        conversation.thread = thread.messages
        conversation.has_older = thread.has_older
        conversation.older_before = thread.oldest.public_id if thread.has_older else None
        return Response(ConversationDetailOut(conversation).data)

    @extend_schema(
        operation_id="conversations_update",
        summary="Change a conversation's title, project, pinned, archived or metadata",
        request=ConversationUpdateIn,
        responses={200: ConversationOut, **error_responses(400, 404, 413, 429)},
        examples=[
            OpenApiExample(
                "Rename and pin",
                value={"title": "Lisbon, 3 days", "pinned": True},
                request_only=True,
            ),
            CONVERSATION_RESPONSE_EXAMPLE,
        ],
    )
    def patch(self, request, public_id):
        conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
        data = parse(ConversationUpdateIn, request.data)
        with transaction.atomic():
            if "title" in data:
                services.conversation_rename(conversation=conversation, title=data["title"])
            if "project" in data:
                services.conversation_set_project(
                    conversation=conversation,
                    project=project_for_user(request.user, data["project"]),
                )
            if "pinned" in data:
                services.conversation_set_pinned(conversation=conversation, pinned=data["pinned"])
            if "archived" in data:
                services.conversation_set_archived(
                    conversation=conversation, archived=data["archived"]
                )
            if "metadata" in data:
                services.conversation_set_metadata(
                    conversation=conversation, metadata=data["metadata"]
                )
        return Response(ConversationOut(conversation).data)

    @extend_schema(
        operation_id="conversations_destroy",
        summary="Delete a conversation with its messages and share links",
        responses={204: None, **error_responses(404, 429)},
    )
    def delete(self, request, public_id):
        conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
        services.conversation_delete(conversation=conversation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConversationBulkDeleteView(APIView):
    @extend_schema(
        operation_id="conversations_bulk_delete",
        summary="Delete up to 100 conversations at once",
        description="Ids that are missing or not yours are reported in `failed_ids`.",
        request=BulkDeleteIn,
        responses={200: BulkDeleteOut, **error_responses(400, 413, 429)},
        examples=[
            OpenApiExample("Two ids", value={"ids": [CONV_ID, "conv_missing"]}, request_only=True),
            OpenApiExample(
                "One deleted, one failed",
                value={"deleted_count": 1, "failed_count": 1, "failed_ids": ["conv_missing"]},
                response_only=True,
            ),
        ],
    )
    def post(self, request):
        ids = list(dict.fromkeys(parse(BulkDeleteIn, request.data)["ids"]))
        result = conversations_bulk_delete(user=request.user, public_ids=ids)
        return Response(
            BulkDeleteOut(
                {
                    "deleted_count": result.count,
                    "failed_count": len(result.failed),
                    "failed_ids": result.failed,
                }
            ).data
        )


class ProjectConversationsView(APIView):
    @extend_schema(
        operation_id="projects_conversations",
        summary="List a project's conversations, most recent activity first",
        parameters=[ProjectConversationsQuery],
        responses={200: ConversationPageOut, **error_responses(400, 404)},
        examples=[PAGE_EXAMPLE],
    )
    def get(self, request, public_id):
        project = project_get_for_user(user=request.user, public_id=public_id)
        query = parse(ProjectConversationsQuery, request.query_params.dict())
        return conversation_page_response(
            conversation_page(user=request.user, query=query, project=project)
        )
